// The claude-channel backend (backends.md §7): interactive Claude Code in a
// detached tmux session, an MCP channel sidecar registered in the project's
// `.mcp.json`, and a private relay between them. All I/O goes through the
// host's services: tmux and claude run through process.run, the relay is an
// http.listen listener, files go through file.*.
//
// Event sources are polled with host timers: the pane and tmux liveness every
// 500 ms, the transcript every 2 s; relay requests arrive as they come.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "channel_relay.hpp"
#include "pane_screen.hpp"
#include "random_ids.hpp"

namespace avenor::claude_channel {

// What the backend takes from the environment (read once, at create).
struct ChannelEnvironment {
  std::string config_dir;  // $CLAUDE_CONFIG_DIR, else $HOME/.claude
};

class ChannelBackend : public sdk::Backend {
 public:
  ChannelBackend(sdk::Host host, sdk::StartOptions options, ChannelEnvironment env);
  ~ChannelBackend() override;

  sdk::LaunchSpec launch() override;
  void on_bytes(std::string_view) override {}  // the guardian says nothing worth reading
  void on_closed(std::string_view reason) override;
  void on_timer(std::uint64_t timer_id) override;

  void start_session(sdk::Operation op, std::optional<std::string> resume_session_id) override;
  void prompt(sdk::Operation op, const std::string& session_id, const std::string& text) override;
  void cancel(sdk::Operation op, const std::string& session_id) override;
  void answer_permission(sdk::Operation op, const sdk::PermissionAnswer& answer) override;

 private:
  enum class Phase { idle, starting, running, finished };
  using Argv = std::vector<std::string>;
  using ProcessDone = std::function<void(sdk::Outcome<sdk::ProcessResult>)>;

  struct Turn {
    bool active = false;
    bool ended = false;
    std::int64_t started_ms = 0;  // wall clock when the prompt was delivered
    std::string prompt;
  };
  struct PendingPermission {
    std::string request_id;
    bool from_pane = false;
    std::vector<PaneOption> options;  // pane dialogs
    std::string description;          // pane dialogs
  };

  // --- start (channel_backend_start.cpp) ---------------------------------------
  void check_preconditions(sdk::Operation op);
  void start_relay(sdk::Operation op);
  void write_mcp_configs(sdk::Operation op);
  void start_terminal(sdk::Operation op);
  void poll_pane_pid();
  void session_started(sdk::Operation op, int pane_pid);
  void fail_start(const sdk::Operation& op, const std::string& message);

  // --- prompt delivery and permissions (channel_backend_prompt.cpp) --------------
  void check_ready_for_prompt();
  void deliver_prompt();
  void check_resubmit();
  void send_keys(const Argv& keys, std::function<void(bool ok, std::string error)> done);
  // Answers a startup dialog on `screen` once per appearance (again only if it
  // is still there 3 s later: the keys were lost). True when one is shown.
  bool answer_startup_dialog(const std::string& screen);

  // --- event sources (channel_backend_sources.cpp) -----------------------------
  void on_relay_request(sdk::InboundRequest request);
  void answer_health(const std::string& request_id);
  void flush_held_polls();
  void poll_pane();
  void handle_pane(const std::string& screen);
  void poll_liveness();
  void poll_transcript();
  void terminal_gone(const std::string& why);

  // --- shared -------------------------------------------------------------------
  void run(const Argv& argv, ProcessDone done, std::string input = {},
           std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void emit(boost::json::object event) const;
  void end_turn(boost::json::object session_end);
  void push_control(std::string_view type, boost::json::value payload);
  // `done` runs once the project entry is gone (or could not be removed).
  void teardown(std::function<void()> done = {});
  void forget_approval(const std::string& server_name, std::function<void()> done);
  bool alive() const { return *alive_; }
  static std::int64_t now_ms();

  ChannelEnvironment env_;
  RandomIds ids_;
  Phase phase_ = Phase::idle;

  std::string dir_;  // absolute, symlinks resolved (as claude sees its cwd)
  std::string session_id_, run_id_, token_, push_token_, server_name_, tmux_session_;
  std::string broker_url_, temp_dir_, mcp_json_path_, transcript_path_;
  bool created_mcp_json_ = false;
  std::int64_t launched_ms_ = 0;

  std::unique_ptr<ChannelRelay> relay_;
  sdk::CallId listener_ = 0;
  std::map<std::string, std::uint64_t> held_polls_;  // request id → its timer
  std::uint64_t next_timer_ = 100;

  std::optional<sdk::Operation> start_op_;
  int pane_pid_attempts_ = 0;

  Turn turn_;
  std::optional<sdk::Operation> prompt_op_;
  std::int64_t ready_deadline_ms_ = 0;
  std::optional<PendingPermission> permission_;
  bool pane_denied_ = false;  // a pane dialog was refused: the turn ends when idle
  // The pane dialog last answered and when: the screen lags the keys, so the
  // same dialog seen again right after is not a new request.
  std::string answered_dialog_;
  std::int64_t answered_dialog_ms_ = 0;
  std::optional<sdk::Operation> cancel_op_;

  StartupDialog last_dialog_ = StartupDialog::none;
  std::int64_t last_dialog_ms_ = 0;

  bool pane_busy_ = false, liveness_busy_ = false, transcript_busy_ = false;
  std::uint64_t transcript_offset_ = 0;
  bool transcript_on_ = false;

  // Callbacks of host services may run after this object is gone only if the
  // host outlives it; they check this flag (shared) before touching members.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Fixed timer ids; held polls use ids from 100 up.
enum TimerId : std::uint64_t {
  kPaneTimer = 1,
  kLivenessTimer = 2,
  kTranscriptTimer = 3,
  kReadyTimer = 4,
  kResubmitTimer = 5,
  kCancelKillTimer = 6,
  kPanePidTimer = 7,
  kDenyEnterTimer = 8,
};

}  // namespace avenor::claude_channel
