// Control messages from the relay (backends.md §7.2) turned into the MCP
// notifications Claude Code understands (§7.4): text for the conversation as
// `notifications/claude/channel`, and a permission decision as the structured
// `notifications/claude/channel/permission` (D11).
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

namespace avenor::host::claude_channel {

struct McpNotification {
  std::string method;
  boost::json::object params;
};

inline constexpr std::string_view kChannelMethod = "notifications/claude/channel";
inline constexpr std::string_view kChannelPermissionMethod =
    "notifications/claude/channel/permission";
inline constexpr std::string_view kChannelPermissionRequestMethod =
    "notifications/claude/channel/permission_request";

// `message` is `{id, type, run_id, payload, created_at}`. Throws
// std::invalid_argument for a message that cannot be rendered (no type; a
// permission decision without request_id or behavior).
McpNotification render_control_message(const boost::json::object& message, std::string_view run_id);

}  // namespace avenor::host::claude_channel
