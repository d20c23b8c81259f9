#include "approvals.hpp"

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/jsonrpc_peer.hpp>
#include <avenor/sdk/option_kinds.hpp>

#include "item_mapper.hpp"

namespace avenor::codex {

namespace json = avenor::sdk::json;
using boost::json::object;

namespace {

// File paths are remembered for this many fileChange items at most.
constexpr std::size_t kMaxRememberedItems = 256;

const boost::json::array& offered_options() {
  static const boost::json::array options{object{{"optionId", "reject"}, {"kind", "reject"}},
                                          object{{"optionId", "allow"}, {"kind", "allow"}}};
  return options;
}

// codex names the reason for a request `reason`; the spec's `message` is
// read first so a future codex spelling it that way still works.
std::string message_of(const object& params) {
  if (auto m = json::find_string(params, "message"); m && !m->empty()) return *m;
  return json::string_or(params, "reason");
}

}  // namespace

std::optional<ApprovalKind> approval_kind(std::string_view method) {
  if (method == "item/commandExecution/requestApproval") return ApprovalKind::command;
  if (method == "item/fileChange/requestApproval") return ApprovalKind::file;
  if (method == "item/permissions/requestApproval") return ApprovalKind::permissions;
  return std::nullopt;
}

std::string_view to_string(ApprovalKind kind) {
  switch (kind) {
    case ApprovalKind::command:
      return "command";
    case ApprovalKind::file:
      return "file";
    case ApprovalKind::permissions:
      break;
  }
  return "permissions";
}

void ApprovalBook::observe_item_started(const object& params) {
  const object* item = json::find_object(params, "item");
  if (!item || json::string_or(*item, "type") != "fileChange") return;
  std::string paths = changed_paths(*item);
  if (paths.empty()) return;
  if (file_paths_.size() >= kMaxRememberedItems) file_paths_.erase(file_paths_.begin());
  file_paths_.insert_or_assign(json::string_or(*item, "id"), std::move(paths));
}

std::variant<object, std::string> ApprovalBook::open(const boost::json::value& rpc_id,
                                                     std::string_view method,
                                                     const boost::json::value& value) {
  auto kind = approval_kind(method);
  if (!kind) return "not an approval request: " + std::string(method);
  const object* params = value.if_object();
  if (!params) return std::string(method) + " params must be an object";
  auto thread_id = json::find_string(*params, "threadId");
  if (!thread_id || thread_id->empty())
    return std::string(method) + " params need a string threadId";

  Pending pending{
      rpc_id, *thread_id, json::string_or(*params, "turnId"), json::string_or(*params, "itemId"),
      *kind,  *params};
  std::string request_id = sdk::rpc_id_to_string(rpc_id);

  object event{{"event", "permission.request"},
               {"session_id", pending.thread_id},
               {"request_id", request_id},
               {"kind", to_string(*kind)},
               {"tool", method},
               {"options", offered_options()},
               {"turn_id", pending.turn_id},
               {"item_id", pending.item_id}};
  std::string command = json::string_or(*params, "command");
  std::string path = json::string_or(*params, "path");
  std::string summary = json::string_or(*params, "summary");
  std::string message = message_of(*params);
  if (path.empty() && *kind == ApprovalKind::file) {
    if (auto it = file_paths_.find(pending.item_id); it != file_paths_.end()) path = it->second;
  }
  if (!command.empty()) event["command"] = command;
  if (!path.empty()) event["path"] = path;
  if (!summary.empty()) event["summary"] = summary;
  if (!message.empty()) event["message"] = message;
  if (const boost::json::value* p = json::find(*params, "permissions")) event["permissions"] = *p;

  std::string description;
  switch (*kind) {
    case ApprovalKind::command:
      description = !command.empty() ? command : message;
      break;
    case ApprovalKind::file:
      description = !path.empty() ? path : message;
      break;
    case ApprovalKind::permissions:
      description = !summary.empty() ? summary : message;
      break;
  }
  event["description"] = description;

  pending_.insert_or_assign(request_id, std::move(pending));
  return event;
}

std::variant<ApprovalResponse, std::string> ApprovalBook::answer(
    const sdk::PermissionAnswer& answer) {
  auto it = pending_.find(answer.request_id);
  if (it == pending_.end() ||
      (!answer.session_id.empty() && answer.session_id != it->second.thread_id))
    return "unknown permission request_id: " + answer.request_id;

  // A cancelled answer declines; the host then interrupts the turn itself.
  bool allow = answer.allow && !answer.cancelled;
  if (!answer.cancelled && !answer.option_id.empty()) {
    sdk::OptionKind wanted = allow ? sdk::OptionKind::allow : sdk::OptionKind::reject;
    sdk::OptionKind offered = answer.option_id == "allow"    ? sdk::OptionKind::allow
                              : answer.option_id == "reject" ? sdk::OptionKind::reject
                                                             : sdk::OptionKind::unknown;
    if (offered == sdk::OptionKind::unknown)
      return "permission option not found: " + answer.option_id;
    if (offered != wanted)
      return "permission option " + answer.option_id + " is of kind " +
             std::string(sdk::to_string(offered)) + ", not " + std::string(sdk::to_string(wanted));
  }

  Pending& pending = it->second;
  ApprovalResponse response{pending.rpc_id, {}};
  if (pending.kind == ApprovalKind::permissions) {
    // codex 0.169.0 takes the granted permissions here, not a decision:
    // allowing grants what was asked for this turn, declining grants nothing.
    const boost::json::value* asked = json::find(pending.params, "permissions");
    response.result = {
        {"permissions",
         allow && asked && asked->is_object() ? *asked : boost::json::value(object{})},
        {"scope", "turn"}};
  } else {
    response.result = {{"decision", allow ? "accept" : "decline"}};
  }
  pending_.erase(it);
  return response;
}

void ApprovalBook::discard_turn(std::string_view thread_id, std::string_view turn_id) {
  std::erase_if(pending_, [&](const auto& entry) {
    return entry.second.thread_id == thread_id && entry.second.turn_id == turn_id;
  });
}

}  // namespace avenor::codex
