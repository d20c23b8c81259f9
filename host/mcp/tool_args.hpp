// The arguments of one MCP tool call, read strictly (control.md §11.3): a key
// the tool does not know, or a value of the wrong type, is a tool error with
// a message the calling agent can act on — never a silently ignored field.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::host::mcp {

// A tool call that fails; its message becomes the tool error's text.
class ToolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ToolArgs {
 public:
  // Throws ToolError for a key not in `known`.
  ToolArgs(const boost::json::object& args, std::initializer_list<std::string_view> known);

  // Absent or null → nullopt; another type → ToolError.
  std::optional<std::string> string(std::string_view key) const;
  std::optional<bool> boolean(std::string_view key) const;
  std::optional<std::int64_t> integer(std::string_view key) const;
  std::optional<std::vector<std::string>> strings(std::string_view key) const;
  // A string (absent, null or empty → ToolError "<key> is required").
  std::string required(std::string_view key) const;
  // `N` (seconds), `Ns`, `Nm`, `Nh` as a string, or an integer of seconds;
  // must be > 0 (a Go duration such as `1m30s` is accepted too).
  std::optional<std::chrono::seconds> duration(std::string_view key) const;
  bool has(std::string_view key) const;

 private:
  const boost::json::value* find(std::string_view key) const;
  [[noreturn]] static void wrong_type(std::string_view key, std::string_view type);

  const boost::json::object& args_;
};

}  // namespace avenor::host::mcp
