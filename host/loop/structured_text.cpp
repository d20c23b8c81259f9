#include "loop/structured_text.hpp"

#include <algorithm>
#include <boost/json/stream_parser.hpp>
#include <cctype>
#include <string>

#include "loop/structured_formats.hpp"
#include "util/read_file.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;

// Boost.JSON reports only an offset; people need a line and column.
bj::value json_to_json(std::string_view text) {
  bj::stream_parser parser;
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
    throw StructuredTextError(detail::at_position(line, column, ec.message()));
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

bj::value parse_structured_text(std::string_view text, TextFormat format) {
  switch (format) {
    case TextFormat::yaml:
      return detail::yaml_to_json(text);
    case TextFormat::toml:
      return detail::toml_to_json(text);
    case TextFormat::json:
      break;
  }
  return json_to_json(text);
}

bj::value parse_structured_file(const std::filesystem::path& path) {
  return parse_structured_text(read_file(path), text_format_for(path));
}

}  // namespace avenor::host
