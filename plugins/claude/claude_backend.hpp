// The claude backend: Claude Code's stream-json protocol over stdio
// (docs/backends/claude.md). One claude process holds one session, named on
// its command line (the host passes the id to resume in the start options); a turn is a
// `user` message followed by claude's stream up to its `result` line;
// permission prompts and interrupts travel as control requests.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <avenor/sdk/json_lines.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "launch.hpp"
#include "permissions.hpp"
#include "session_ids.hpp"
#include "stream_mapper.hpp"

namespace avenor::claude {

class ClaudeBackend : public sdk::Backend {
 public:
  ClaudeBackend(sdk::Host host, sdk::StartOptions options, SessionIds ids = SessionIds());

  sdk::LaunchSpec launch() override;
  void on_bytes(std::string_view bytes) override;
  void on_closed(std::string_view reason) override;

  void start_session(sdk::Operation op, std::optional<std::string> resume_session_id) override;
  void prompt(sdk::Operation op, const std::string& session_id, const std::string& text) override;
  void cancel(sdk::Operation op, const std::string& session_id) override;
  void answer_permission(sdk::Operation op, const sdk::PermissionAnswer& answer) override;

 private:
  // A control request of ours waiting for claude's control_response: the
  // response object on success, else the error text.
  using ControlHandler =
      std::function<void(const boost::json::object* response, const std::string& error)>;

  struct Turn {
    sdk::Operation op;
    bool interrupt_requested = false;
    // Cancels waiting for the turn to end: avenor writes its own session.end
    // when a cancel returns first, so they finish only after claude's result.
    std::vector<sdk::Operation> cancels;
  };

  void write_line(const boost::json::object& message);
  void send_control(boost::json::object request, ControlHandler on_response);

  void handle_line(const std::string& line);
  void handle_control_request(const boost::json::object& message);
  void handle_control_response(const boost::json::object& message);
  void handle_init(const boost::json::object& message);
  void handle_result(const boost::json::object& message);
  void fail_turn(const std::string& message);

  const std::string& sid() const { return session_id_ ? *session_id_ : empty_; }

  sdk::JsonLines lines_{sdk::JsonLines::kDefaultMaxLine, "claude"};
  SessionIds ids_;
  StreamMapper mapper_;
  PermissionBook permissions_;
  std::map<std::string, ControlHandler> controls_;  // our requests awaiting a response

  SessionFlag launch_session_;             // what the command line opens
  std::optional<std::string> session_id_;  // one session per claude process, once open
  bool starting_ = false;                  // initialize sent
  std::optional<std::string> closed_;      // why claude is gone, once it is
  bool broken_ = false;                    // the byte stream can no longer be read
  std::optional<Turn> turn_;
  const std::string empty_;
};

}  // namespace avenor::claude
