// codex approval requests ↔ avenor permissions (backends.md §3.5).
// codex asks with server→client requests; each becomes one permission.request
// offering reject/allow, and the caller's decision becomes the response codex
// expects for that method.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <boost/json.hpp>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace avenor::codex {

enum class ApprovalKind { command, file, permissions };

// The approval kind of a server request method, or nullopt for other methods.
std::optional<ApprovalKind> approval_kind(std::string_view method);
std::string_view to_string(ApprovalKind kind);

// A response to send: the request's id as codex sent it, and the result.
struct ApprovalResponse {
  boost::json::value rpc_id;
  boost::json::object result;
};

class ApprovalBook {
 public:
  // Records an approval request; returns its permission.request event, or
  // why the params are unusable (the caller answers -32602).
  std::variant<boost::json::object, std::string> open(const boost::json::value& rpc_id,
                                                      std::string_view method,
                                                      const boost::json::value& params);

  // The response for a decision on a recorded request (which is then
  // forgotten), or why the decision cannot be delivered.
  std::variant<ApprovalResponse, std::string> answer(const sdk::PermissionAnswer& answer);

  // The turn ended: its unanswered requests are moot.
  void discard_turn(std::string_view thread_id, std::string_view turn_id);
  void clear() {
    pending_.clear();
    file_paths_.clear();
  }

  // item/started of a fileChange: codex's file approval names only the item,
  // so the item's paths are kept to describe it.
  void observe_item_started(const boost::json::object& params);

  std::size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    boost::json::value rpc_id;
    std::string thread_id, turn_id, item_id;
    ApprovalKind kind;
    boost::json::object params;
  };

  std::map<std::string, Pending> pending_;         // by request_id (the RPC id as text)
  std::map<std::string, std::string> file_paths_;  // fileChange item id -> changed paths
};

}  // namespace avenor::codex
