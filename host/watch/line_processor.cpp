#include "watch/line_processor.hpp"

#include <boost/json.hpp>

#include "util/json_text.hpp"
#include "util/utf8.hpp"
#include "watch/classifier.hpp"
#include "watch/line_reader.hpp"
#include "watch/plain_formatter.hpp"
#include "watch/text_clean.hpp"

namespace avenor::host::watch {
namespace {

namespace bj = boost::json;

bj::parse_options parse_options() {
  bj::parse_options options;
  // As lenient as the Go decoder the logs were written for: deep nesting
  // and stray invalid UTF-8 inside strings do not make a line malformed.
  options.max_depth = 10000;
  options.allow_invalid_utf8 = true;
  return options;
}

}  // namespace

LineProcessor::LineProcessor(const LineOptions& options, OutputSink& out, std::ostream& err)
    : options_(options),
      out_(out),
      err_(err),
      accumulator_(options.classify),
      accumulate_(options.accumulate && options.format == OutputFormat::plain) {}

LineProcessor::Handled LineProcessor::handle(std::string_view line) {
  Handled handled;
  current_ = nullptr;
  std::string_view content = line;
  if (!content.empty() && content.back() == '\n') content.remove_suffix(1);
  if (content.empty()) return handled;  // empty lines have no number
  handled.counted = true;
  ++line_number_;
  const std::string_view text = trim_space(content);
  if (text.empty()) return handled;  // whitespace-only: skipped silently

  boost::system::error_code ec;
  current_ = bj::parse(text, ec, {}, parse_options());
  if (ec) {
    current_ = nullptr;
    report_malformed(ec.message());
    return handled;
  }
  bj::object* object = current_.if_object();
  if (options_.format == OutputFormat::json) {
    write_json(line, object);
  } else if (object == nullptr) {
    // Plain output needs an event object; any other JSON value is not one.
    report_malformed("not a JSON object");
  } else if (accumulate_) {
    for (const std::string& out_line : accumulator_.process(*object))
      out_.write_line(terminal_safe(out_line));
  } else if (auto out_line = format_plain_line(*object, options_.classify)) {
    out_.write_line(terminal_safe(*out_line));
  }
  handled.event = object;
  return handled;
}

LineProcessor::Handled LineProcessor::handle_oversize(std::size_t bytes) {
  current_ = nullptr;
  ++line_number_;
  report_malformed("line of " + std::to_string(bytes) + " bytes exceeds the " +
                   std::to_string(LineReader::kMaxLineBytes >> 20) + " MiB limit; skipped");
  return Handled{true, nullptr};
}

void LineProcessor::write_json(std::string_view line, bj::object* object) {
  // The parser lets invalid UTF-8 inside strings pass (as Go's decoder
  // does); what is written out must still be valid, so such bytes become
  // U+FFFD. Valid lines go out byte for byte, '\n' included.
  auto write_valid = [this](std::string_view text) {
    if (is_valid_utf8(text)) {
      out_.write(text);
    } else {
      out_.write(valid_utf8(text));
    }
  };
  if (!options_.classify || object == nullptr) {
    write_valid(line);
    return;
  }
  (*object)["classify"] = classify(*object);
  std::string encoded;
  append_compact_json(encoded, *object);
  encoded += '\n';
  write_valid(encoded);
}

void LineProcessor::flush_accumulator() {
  if (!accumulate_) return;
  for (const std::string& out_line : accumulator_.flush()) out_.write_line(terminal_safe(out_line));
}

void LineProcessor::report_malformed(std::string_view reason) {
  err_ << "avenor watch: malformed event at line " << line_number_ << ": " << reason << "\n";
  err_.flush();
}

}  // namespace avenor::host::watch
