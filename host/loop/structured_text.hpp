// Loop files may be JSON, YAML or TOML (events.md §9.1); all three become one
// boost::json::value so a single strict validator sees the same model.
#pragma once

#include <boost/json/value.hpp>
#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace avenor::host {

enum class TextFormat { json, yaml, toml };

// By extension, case-insensitively: .yaml/.yml YAML, .toml TOML, anything else JSON.
TextFormat text_format_for(const std::filesystem::path& path);

// A syntax error, or a document the conversion cannot represent (none or
// several YAML documents, duplicate YAML keys, an unknown YAML tag). what() is
// the library's message, led by "line L, column C: " when the place is known.
class StructuredTextError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Exactly one top-level value: trailing JSON data and a second YAML document are
// errors, and so is a YAML stream with no document (or an empty one). YAML
// scalars: plain ones resolve by the YAML 1.2 core schema (null, bool, int,
// float, else string), quoted and block ones stay strings. TOML dates and times
// become strings. Throws StructuredTextError.
boost::json::value parse_structured_text(std::string_view text, TextFormat format);

// Reads `path` and parses it in the format of its extension. Throws
// std::system_error (errno) when the file cannot be read, StructuredTextError
// for its content.
boost::json::value parse_structured_file(const std::filesystem::path& path);

}  // namespace avenor::host
