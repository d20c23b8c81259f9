// `avenor watch` line processing (host/watch): log bytes through the line
// reader into the line processor in every output mode, and the --until-end
// tracker. A log is outside input: plain output must be valid UTF-8 with no
// character a terminal acts on, JSON output valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz_text.hpp"
#include "util/utf8.hpp"
#include "watch/line_processor.hpp"
#include "watch/line_reader.hpp"
#include "watch/output_sink.hpp"
#include "watch/until_end.hpp"

namespace {

namespace watch = avenor::host::watch;
using avenor::fuzz::require;

// True when `text` has a C0 control other than '\n', DEL, or a C1 control.
bool has_terminal_control(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
    // C1 controls are U+0080-U+009F: 0xC2 0x80-0x9F in UTF-8.
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f)
      return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // First byte: bit 0 JSON output, bit 1 --classify, bit 2 --accumulate,
  // bit 3 a small line cap; bits 4-7 the read chunk size.
  watch::LineOptions options;
  options.format = (data[0] & 1) ? watch::OutputFormat::json : watch::OutputFormat::plain;
  options.classify = (data[0] & 2) != 0;
  options.accumulate = (data[0] & 4) != 0;
  const std::size_t chunk = 1 + (data[0] >> 4) * 7;
  std::string_view log = avenor::fuzz::as_text(data + 1, size - 1);

  std::ostringstream out, err;
  watch::OutputSink sink(out);
  watch::LineProcessor processor(options, sink, err);
  watch::UntilEndTracker until_end;
  // A small line cap (bit 3), so the oversize path runs on short inputs.
  watch::LineReader reader(0, (data[0] & 8) ? 256 : watch::LineReader::kMaxLineBytes);
  for (std::size_t at = 0; at < log.size(); at += chunk) {
    reader.append(log.substr(at, chunk));
    while (auto line = reader.next_line()) {
      watch::LineProcessor::Handled handled = line->oversize_bytes > 0
                                                  ? processor.handle_oversize(line->oversize_bytes)
                                                  : processor.handle(line->text);
      if (handled.counted) (void)until_end.observe(handled.event);
    }
  }
  require(reader.offset() + static_cast<std::int64_t>(reader.held_bytes()) <=
              static_cast<std::int64_t>(log.size()),
          "the line reader's offset passed the bytes it was given");
  processor.flush_accumulator();
  require(sink.flush(), "writing to a string stream failed");

  const std::string text = out.str();
  require(avenor::host::is_valid_utf8(text), "watch wrote invalid UTF-8");
  if (options.format == watch::OutputFormat::plain)
    require(!has_terminal_control(text), "plain watch output carries a terminal control");
  return 0;
}
