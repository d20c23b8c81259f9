// The codex-app-server backend (backends.md §3): one `codex app-server`
// process per attempt, spoken to in JSON-RPC lines without the "jsonrpc"
// member. Threads are sessions; each prompt is one turn that ends with its
// turn/completed notification.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <avenor/sdk/frame_reader.hpp>
#include <avenor/sdk/jsonrpc_peer.hpp>
#include <avenor/sdk/start_once.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "approvals.hpp"
#include "diagnostic_ring.hpp"
#include "notification_mapper.hpp"

namespace avenor::codex {

class CodexBackend : public sdk::Backend {
 public:
  // `request_ids` makes the string request ids (clock_request_ids() in the plugin).
  CodexBackend(sdk::Host host, sdk::StartOptions options,
               std::function<std::string(std::int64_t)> request_ids);

  sdk::LaunchSpec launch() override;
  void on_bytes(std::string_view bytes) override;
  void on_closed(std::string_view reason) override;

  void start_session(sdk::Operation op, std::optional<std::string> resume_session_id) override;
  void prompt(sdk::Operation op, const std::string& session_id, const std::string& text) override;
  void cancel(sdk::Operation op, const std::string& session_id) override;
  void answer_permission(sdk::Operation op, const sdk::PermissionAnswer& answer) override;

  const DiagnosticRing& diagnostics() const { return diagnostics_; }

 private:
  // What this connection knows about one codex thread.
  struct Thread {
    std::optional<std::string> effort;       // turn/start.effort for every turn
    std::optional<std::string> active_turn;  // between turn/start and turn/completed
    int starting_turns = 0;                  // turn/start requests without a response yet
  };
  // A cancel waits for the interrupted turn's turn/completed; `turn_id` is
  // empty while the turn's id is not known yet (turn/start still in flight).
  struct CancelWaiter {
    sdk::Operation op;
    std::string thread_id, turn_id;
  };
  void after_handshake(sdk::StartOnce::Waiter next);
  void start_handshake();
  void finish_handshake(std::optional<std::string> error);
  void new_thread(const sdk::Operation& op);
  void resume_thread(const sdk::Operation& op, const std::string& thread_id);
  void thread_ready(const sdk::Operation& op, const std::string& thread_id);

  void turn_started(const sdk::Operation& op, const std::string& thread_id,
                    const sdk::RpcOutcome& outcome);
  void finish_turn(const sdk::Operation& op, const TurnEnd& end);
  void interrupt(const std::string& thread_id, const std::string& turn_id);

  void on_notification(std::string_view method, const boost::json::value& params);
  void on_turn_end(const TurnEnd& end);
  void on_server_request(const boost::json::value& id, std::string_view method,
                         const boost::json::value& params);

  std::string error_text(std::string_view method, const sdk::RpcError& error) const;
  std::string closed_text(std::string_view reason) const;

  std::string dir_;
  sdk::FrameReader reader_;
  sdk::JsonRpcPeer rpc_;
  DiagnosticRing diagnostics_;
  NotificationMapper mapper_;
  ApprovalBook approvals_;

  sdk::StartOnce handshake_;

  std::map<std::string, Thread, std::less<>> threads_;
  std::map<std::string, sdk::Operation> turn_waiters_;  // prompt ops by turn id
  std::map<std::string, TurnEnd> early_ends_;  // turn/completed before its turn/start response
  std::vector<CancelWaiter> cancels_;
  std::optional<std::string> closed_;  // the failure text once the transport is gone
};

}  // namespace avenor::codex
