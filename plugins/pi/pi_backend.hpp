// The pi backend: `pi --mode rpc --no-session` driven over strict JSON lines
// (backends.md §6). One pi process holds one session; a turn is a `prompt`
// command followed by pi's event stream up to the agent_end that TurnEndGate
// judges terminal; extension dialogs are relayed as permission requests.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <avenor/sdk/json_lines.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent_end.hpp"
#include "command_ids.hpp"
#include "pending_commands.hpp"
#include "turn_end_gate.hpp"
#include "ui_dialogs.hpp"

namespace avenor::pi {

class PiBackend : public sdk::Backend {
 public:
  PiBackend(sdk::Host host, sdk::StartOptions options, CommandIds ids = CommandIds());

  sdk::LaunchSpec launch() override;
  void on_bytes(std::string_view bytes) override;
  void on_closed(std::string_view reason) override;

  void start_session(sdk::Operation op, std::optional<std::string> resume_session_id) override;
  void prompt(sdk::Operation op, const std::string& session_id, const std::string& text) override;
  void cancel(sdk::Operation op, const std::string& session_id) override;
  void answer_permission(sdk::Operation op, const sdk::PermissionAnswer& answer) override;

 private:
  // The prompt in flight. Its operation completes once pi accepted the prompt
  // and the turn's session.end has been emitted, in whichever order.
  struct Turn {
    sdk::Operation op;
    unsigned generation = 0;
    bool accepted = false;
    std::optional<AgentEnd> ended;
  };

  // Sends `command` with a fresh id; `on_response` runs with pi's answer.
  std::string send(boost::json::object command, PendingCommands::Handler on_response);
  void write_line(const boost::json::object& message);

  void handle_line(const std::string& line);
  void handle_response(const boost::json::object& response);
  void handle_ui_request(const boost::json::object& request);
  void handle_agent_end(const boost::json::object& event);
  void handle_event(const boost::json::object& event);

  void act(TurnEndGate::Action action);
  void end_turn(const AgentEnd& end);
  void settle_turn();
  void fail_turn(const std::string& message);
  void emit_agent_end(const AgentEnd& end);

  void begin_session(const sdk::Operation& op, std::optional<std::string> resume_session_id);
  void track_tool(const boost::json::object& event, std::string_view type);
  void cancel_dialogs(const std::string& session_id);

  const std::string& sid() const { return session_id_ ? *session_id_ : empty_; }

  sdk::JsonLines lines_{sdk::JsonLines::kDefaultMaxLine, "pi"};
  CommandIds ids_;
  PendingCommands pending_;
  TurnEndGate gate_;

  std::optional<std::string> session_id_;  // one session per pi process
  bool starting_ = false;
  std::optional<Turn> turn_;
  unsigned generation_ = 0;
  std::map<std::string, Dialog> dialogs_;                     // open dialogs by id
  std::vector<std::pair<std::string, ToolContext>> running_;  // executing tools, oldest first
  std::optional<std::string> closed_;                         // why pi is gone, once it is
  bool broken_ = false;  // the byte stream can no longer be read
  const std::string empty_;
};

// The session id in a get_state response: data.sessionId, else a top-level
// sessionId, else state.sessionId (top-level or in data); "" when none.
std::string session_id_from_state(const boost::json::object& response);

}  // namespace avenor::pi
