#include "watch/line_processor.hpp"

#include <boost/json.hpp>

#include "util/json_text.hpp"
#include "watch/classifier.hpp"
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
    for (const std::string& out_line : accumulator_.process(*object)) out_.write_line(out_line);
  } else if (auto out_line = format_plain_line(*object, options_.classify)) {
    out_.write_line(*out_line);
  }
  handled.event = object;
  return handled;
}

void LineProcessor::write_json(std::string_view line, bj::object* object) {
  if (!options_.classify || object == nullptr) {
    // Byte for byte as read, '\n' included.
    out_.write(line);
    return;
  }
  (*object)["classify"] = classify(*object);
  std::string encoded;
  append_compact_json(encoded, *object);
  encoded += '\n';
  out_.write(encoded);
}

void LineProcessor::flush_accumulator() {
  if (!accumulate_) return;
  for (const std::string& out_line : accumulator_.flush()) out_.write_line(out_line);
}

void LineProcessor::report_malformed(std::string_view reason) {
  err_ << "avenor watch: malformed event at line " << line_number_ << ": " << reason << "\n";
  err_.flush();
}

}  // namespace avenor::host::watch
