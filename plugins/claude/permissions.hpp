// Claude Code's permission prompts (`--permission-prompt-tool stdio`): a
// stdout `control_request {request_id, request{subtype:"can_use_tool",
// tool_name, input, description?, tool_use_id?, blocked_path?}}` becomes a
// permission.request with an ACP-shaped toolCall and two options; the answer
// is a stdin `control_response {response{subtype:"success", request_id,
// response{behavior:"allow", updatedInput:<input unchanged>} | {behavior:"deny",
// message}}}`.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <variant>

namespace avenor::claude {

class PermissionBook {
 public:
  // The permission.request for a can_use_tool request, remembered until
  // answered; an error message when the request lacks its id or tool.
  std::variant<boost::json::object, std::string> open(const boost::json::object& control_request,
                                                      const std::string& session_id);

  // The control_response line (an object) for `answer`, forgetting the
  // request; an error message for an unknown request or a bad option.
  std::variant<boost::json::object, std::string> answer(const sdk::PermissionAnswer& answer);

  // Deny every open request (the turn is being cancelled); the responses to write.
  std::vector<boost::json::object> deny_all(const std::string& message);

  // claude withdrew a request (control_cancel_request); true when it was open.
  bool forget(const std::string& request_id) { return open_.erase(request_id) > 0; }

  bool empty() const { return open_.empty(); }

 private:
  struct Pending {
    std::string session_id;
    boost::json::value input;  // passed back unchanged as updatedInput
  };
  std::map<std::string, Pending> open_;
};

// A control_response answering `request_id` with `response`.
boost::json::object control_success(const std::string& request_id, boost::json::object response);
// A control_response refusing `request_id` (a request this plugin does not serve).
boost::json::object control_error(const std::string& request_id, const std::string& message);

}  // namespace avenor::claude
