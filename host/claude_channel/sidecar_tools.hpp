// The three MCP tools the sidecar offers Claude (backends.md §7.4) and the
// instructions it sends with `initialize`: definitions for `tools/list`, and
// the checked mapping of a `tools/call` onto a relay route and body.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <variant>

namespace avenor::host::claude_channel {

// The `instructions` of the initialize result.
std::string sidecar_instructions();

// The `tools` array of the tools/list result.
boost::json::array tool_definitions();

struct RelayCall {
  std::string route;         // "/report", "/finish" or "/reply"
  boost::json::object body;  // the tool's fields (credentials are added by the caller)
  std::string done_text;     // the tool result text on success
};

struct ToolArgumentError {
  std::string message;  // shown to Claude as an isError tool result
};

struct UnknownTool {};

// Checks `arguments` of tool `name` against its schema.
std::variant<RelayCall, ToolArgumentError, UnknownTool> prepare_tool_call(
    std::string_view name, const boost::json::object& arguments);

}  // namespace avenor::host::claude_channel
