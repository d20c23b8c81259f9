#include "permissions.hpp"

#include <avenor/sdk/json.hpp>

#include "stream_mapper.hpp"

namespace avenor::claude {

namespace json = sdk::json;
using boost::json::object;

namespace {

constexpr std::string_view kAllow = "allow";
constexpr std::string_view kReject = "reject";

boost::json::array offered_options() {
  return {object{{"optionId", kAllow}, {"kind", "allow_once"}, {"name", "Allow"}},
          object{{"optionId", kReject}, {"kind", "reject_once"}, {"name", "Reject"}}};
}

object deny(const std::string& message, bool interrupt = false) {
  object r{{"behavior", "deny"}, {"message", message}};
  if (interrupt) r["interrupt"] = true;
  return r;
}

}  // namespace

object control_success(const std::string& request_id, object response) {
  return {{"type", "control_response"},
          {"response", object{{"subtype", "success"},
                              {"request_id", request_id},
                              {"response", std::move(response)}}}};
}

object control_error(const std::string& request_id, const std::string& message) {
  return {
      {"type", "control_response"},
      {"response", object{{"subtype", "error"}, {"request_id", request_id}, {"error", message}}}};
}

std::variant<object, std::string> PermissionBook::open(const object& control_request,
                                                       const std::string& session_id) {
  const std::string id = json::string_or(control_request, "request_id");
  const object* request = json::find_object(control_request, "request");
  if (id.empty() || !request) return std::string("can_use_tool without a request_id");
  const std::string tool = json::string_or(*request, "tool_name");
  if (tool.empty()) return "can_use_tool " + id + " without a tool_name";
  boost::json::value input = object{};
  if (const auto* in = request->if_contains("input")) input = *in;

  std::string tool_use_id = json::string_or(*request, "tool_use_id");
  object tool_call{{"toolCallId", tool_use_id.empty() ? id : tool_use_id},
                   {"title", tool_title(tool, input)},
                   {"kind", tool_kind(tool)},
                   {"status", "pending"},
                   {"rawInput", input}};
  object e{{"event", "permission.request"},
           {"session_id", session_id},
           {"request_id", id},
           {"tool", tool},
           {"toolCall", std::move(tool_call)},
           {"options", offered_options()}};
  if (auto d = json::find_string(*request, "description"); d && !d->empty()) e["description"] = *d;
  if (auto p = json::find_string(*request, "blocked_path"); p && !p->empty()) e["path"] = *p;
  if (tool == "Bash" && input.is_object())
    if (auto cmd = json::find_string(input.get_object(), "command")) e["command"] = *cmd;
  open_.insert_or_assign(id, Pending{session_id, std::move(input)});
  return e;
}

std::variant<object, std::string> PermissionBook::answer(const sdk::PermissionAnswer& a) {
  auto it = open_.find(a.request_id);
  if (it == open_.end() || (!a.session_id.empty() && a.session_id != it->second.session_id))
    return "unknown permission request_id: " + a.request_id;
  bool allow = a.allow && !a.cancelled;
  if (!a.option_id.empty() && !a.cancelled) {
    // §0.4: the caller's option must exist and match the decision.
    if (a.option_id != kAllow && a.option_id != kReject)
      return "unknown permission option_id: " + a.option_id;
    if ((a.option_id == kAllow) != a.allow)
      return "permission option_id " + a.option_id + " does not match the decision";
  }
  object response;
  if (allow) {
    response = object{{"behavior", "allow"}, {"updatedInput", it->second.input}};
  } else {
    response =
        deny(a.message.empty() ? (a.cancelled ? "cancelled" : "denied by avenor") : a.message,
             a.cancelled);
  }
  object line = control_success(a.request_id, std::move(response));
  open_.erase(it);
  return line;
}

std::vector<object> PermissionBook::deny_all(const std::string& message) {
  std::vector<object> out;
  for (const auto& [id, pending] : open_) out.push_back(control_success(id, deny(message, true)));
  open_.clear();
  return out;
}

}  // namespace avenor::claude
