// Loop files may be JSON, YAML or TOML (events.md §9.1); all three become one
// boost::json::value so a single strict validator sees the same model.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace avenor::host {

enum class TextFormat { json, yaml, toml };

// By extension, case-insensitively: .yaml/.yml YAML, .toml TOML, anything else JSON.
TextFormat text_format_for(const std::filesystem::path& path);

// The largest text parse_structured_text accepts in `format` (load_limits.hpp).
std::size_t max_structured_text_bytes(TextFormat format);

// A syntax error, or a document the conversion cannot represent (none or
// several YAML documents, duplicate YAML keys, an unknown YAML tag). what() is
// the library's message, led by "line L, column C: " when the place is known.
class StructuredTextError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LoadBudget;

// Exactly one top-level value: trailing JSON data and a second YAML document are
// errors, and so is a YAML stream with no document (or an empty one). YAML
// scalars: plain ones resolve by the YAML 1.2 core schema (null, bool, int,
// float, else string), quoted and block ones stay strings. TOML dates and times
// become strings. Throws StructuredTextError.
// Hostile input fails the same way (load_limits.hpp): text larger than
// max_structured_text_bytes, nesting deeper than
// kMaxNestingDepth in any format, checked before a parser could recurse that
// deep; a YAML file of more than kMaxYamlNodes nodes; a YAML alias inside the
// node it names; YAML aliases expanding past `budget`.
boost::json::value parse_structured_text(std::string_view text, TextFormat format,
                                         LoadBudget& budget);
// The same with a budget of its own.
boost::json::value parse_structured_text(std::string_view text, TextFormat format);

// Reads `path` (a regular file of at most max_structured_text_bytes, charged
// to `budget`) and parses it in the format of its extension. Throws
// std::system_error when the file cannot be read (errno, or a FileProblem
// from util/read_file.hpp: not a regular file, too large), StructuredTextError
// for its content or when the budget is spent.
boost::json::value parse_structured_file(const std::filesystem::path& path, LoadBudget& budget);
boost::json::value parse_structured_file(const std::filesystem::path& path);

}  // namespace avenor::host
