#include "claude_channel/control_rendering.hpp"

#include <avenor/sdk/json.hpp>
#include <boost/json.hpp>
#include <stdexcept>

namespace avenor::host::claude_channel {
namespace {

namespace bj = boost::json;
using avenor::sdk::json::string_or;

// The payload's "message" when it is a string, else the payload as JSON
// ("" for none): the part of a control message meant for Claude to read.
std::string payload_text(const bj::value* payload) {
  if (payload == nullptr || payload->is_null()) return "";
  if (payload->is_string()) return std::string(payload->get_string());
  if (const bj::object* o = payload->if_object()) {
    if (const bj::value* m = o->if_contains("message"); m != nullptr && m->is_string())
      return std::string(m->get_string());
    if (o->empty()) return "";
  }
  return bj::serialize(*payload);
}

std::string reason_of(const bj::value* payload) {
  const bj::object* o = payload != nullptr ? payload->if_object() : nullptr;
  return o != nullptr ? string_or(*o, "reason") : std::string();
}

std::string render_text(std::string_view type, std::string_view ctrl_id, const bj::value* payload) {
  if (type == "continue") return payload_text(payload);
  if (type == "add_context")
    return "Incorporate the following additional context into your current work:\n\n" +
           payload_text(payload);
  if (type == "request_status")
    return "avenor asks for a status update. Answer with the avenor_reply tool, with to=\"" +
           std::string(ctrl_id) +
           "\" and a payload describing what you are doing, what is done and what is left." +
           (payload_text(payload).empty() ? "" : "\n\n" + payload_text(payload));
  if (type == "cancel") {
    const std::string reason = reason_of(payload);
    return "avenor asks you to stop the current task now" +
           (reason.empty() ? std::string() : " (reason: " + reason + ")") +
           ". Do not start anything new. Call the avenor_finish tool with status \"blocked\" "
           "(or \"failed\" if the work cannot be completed) and a short summary of where you "
           "stopped.";
  }
  const std::string text = payload_text(payload);
  return "avenor message of type \"" + std::string(type) + "\"" +
         (text.empty() ? std::string() : ":\n\n" + text);
}

McpNotification render_permission_decision(const bj::value* payload) {
  const bj::object* o = payload != nullptr ? payload->if_object() : nullptr;
  if (o == nullptr) throw std::invalid_argument("permission_decision without a payload object");
  const std::string request_id = string_or(*o, "request_id");
  if (request_id.empty()) throw std::invalid_argument("permission_decision without request_id");
  std::string behavior = string_or(*o, "behavior");
  if (behavior.empty()) {
    const bj::value* allow = o->if_contains("allow");
    if (allow != nullptr && allow->is_bool()) behavior = allow->get_bool() ? "allow" : "deny";
  }
  if (behavior != "allow" && behavior != "deny")
    throw std::invalid_argument("permission_decision behavior must be \"allow\" or \"deny\"");
  return {std::string(kChannelPermissionMethod),
          bj::object{{"request_id", request_id}, {"behavior", behavior}}};
}

}  // namespace

McpNotification render_control_message(const bj::object& message, std::string_view run_id) {
  const std::string type = string_or(message, "type");
  if (type.empty()) throw std::invalid_argument("control message without a type");
  const bj::value* payload = message.if_contains("payload");
  if (type == "permission_decision") return render_permission_decision(payload);

  const std::string ctrl_id = string_or(message, "id");
  std::string from_run_id = string_or(message, "from_run_id");
  if (const bj::object* p = payload != nullptr ? payload->if_object() : nullptr;
      from_run_id.empty() && p != nullptr)
    from_run_id = string_or(*p, "from_run_id");
  bj::object meta{
      {"run_id", run_id}, {"ctrl_id", ctrl_id}, {"type", type}, {"from_run_id", from_run_id}};
  return {std::string(kChannelMethod),
          bj::object{{"content", render_text(type, ctrl_id, payload)}, {"meta", std::move(meta)}}};
}

}  // namespace avenor::host::claude_channel
