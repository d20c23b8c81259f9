#include "loop/structured_text.hpp"

#include <algorithm>
#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/stream_parser.hpp>
#include <cctype>
#include <string>

#include "loop/load_limits.hpp"
#include "loop/structured_formats.hpp"
#include "util/read_file.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;

// Boost.JSON reports only an offset; people need a line and column.
// Boost.JSON parses without recursing; its depth limit (32 by default) is
// set to the one every format shares.
bj::value json_to_json(std::string_view text) {
  bj::parse_options options;
  options.max_depth = kMaxNestingDepth;
  bj::stream_parser parser({}, options);
  boost::system::error_code ec;
  std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    consumed = std::min(consumed, text.size());
    const std::string_view before = text.substr(0, consumed);
    const long line = 1 + static_cast<long>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t line_start = before.rfind('\n');
    const long column =
        1 + static_cast<long>(line_start == std::string_view::npos ? consumed
                                                                   : consumed - line_start - 1);
    throw StructuredTextError(detail::at_position(
        line, column, ec == bj::error::too_deep ? nesting_too_deep_message() : ec.message()));
  }
  return parser.release();
}

}  // namespace

namespace detail {

std::string at_position(long line, long column, std::string_view message) {
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
         std::string(message);
}

}  // namespace detail

TextFormat text_format_for(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".yaml" || ext == ".yml") return TextFormat::yaml;
  if (ext == ".toml") return TextFormat::toml;
  return TextFormat::json;
}

std::size_t max_structured_text_bytes(TextFormat format) {
  return format == TextFormat::yaml ? kMaxYamlInputBytes : kMaxLoopInputBytes;
}

bj::value parse_structured_text(std::string_view text, TextFormat format, LoadBudget& budget) {
  if (const std::size_t max = max_structured_text_bytes(format); text.size() > max)
    throw StructuredTextError("larger than " + std::to_string(max) + " bytes");
  switch (format) {
    case TextFormat::yaml:
      return detail::yaml_to_json(text, budget);
    case TextFormat::toml:
      return detail::toml_to_json(text);
    case TextFormat::json:
      break;
  }
  return json_to_json(text);
}

bj::value parse_structured_text(std::string_view text, TextFormat format) {
  LoadBudget budget;
  return parse_structured_text(text, format, budget);
}

bj::value parse_structured_file(const std::filesystem::path& path, LoadBudget& budget) {
  const std::string text =
      read_regular_file(path, max_structured_text_bytes(text_format_for(path)));
  if (std::string problem = budget.charge_text(text.size()); !problem.empty())
    throw StructuredTextError(problem);
  return parse_structured_text(text, text_format_for(path), budget);
}

bj::value parse_structured_file(const std::filesystem::path& path) {
  LoadBudget budget;
  return parse_structured_file(path, budget);
}

}  // namespace avenor::host
