// The heart of `avenor run`: attempts and retries (cli.md §3.4), one attempt
// (§3.5) and one turn with its exact event write order (events.md §5),
// permissions (events.md §7), cancellation and timeouts (cli.md §3.6–§3.9),
// parked mode (§3.14, in run_parking.cpp) and the session identity map (§3.13).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>

#include "control/run_commands.hpp"
#include "events/event_pipeline.hpp"
#include "permissions/permission_policy.hpp"
#include "plugin_host/backend_connection.hpp"
#include "plugin_host/plugin_catalog.hpp"
#include "run/dir_snapshot.hpp"
#include "run/mailbox.hpp"
#include "run/markers.hpp"
#include "run/run_end.hpp"
#include "run/run_messages.hpp"
#include "run/run_options.hpp"
#include "run/session_identity.hpp"
#include "run/status_tracker.hpp"

namespace avenor::host {

// What the run command prepared before handing over.
struct RunSetup {
  RunOptions options;
  BackendEntry backend;
  std::string prompt;
  std::string server_url;
  std::string model;                                     // after the agent→model lookup
  std::optional<std::filesystem::path> permission_base;  // the file handler, if any
  PermissionPolicy policy;  // answers requests before the resolver chain (new)
};

struct RunOutcome {
  int exit_code = 1;
  std::string session_id;
  std::string stop_reason;  // the last turn's stop reason; may be empty
  bool synthetic = false;   // stop_reason came from a cancel or timeout, not the backend
  DirectiveMark directive;  // loop markers seen, merged across retries (events.md §9.3)
  bool retryable = true;    // false: another attempt would fail the same way
};

// Writes the run's sentinel (cli.md §3.11); the run command owns the one
// writer, the engine calls it when a parked run's result must be visible
// before the process ends. An empty stop reason is derived from the code.
using SentinelWriter = std::function<void(int exit_code, const std::string& session_id,
                                          const std::string& stop_reason)>;

class RunEngine : public RunCommands {
 public:
  RunEngine(boost::asio::io_context& io, RunSetup setup, EventPipeline& events, std::ostream& err);
  ~RunEngine() override;

  // The single-run path: the prompt of the setup, resuming --resume.
  boost::asio::awaitable<RunOutcome> run() {
    return run_phase(setup_.prompt, setup_.options.resume);
  }

  // Attempts and retries of one prompt (cli.md §3.4); a loop phase is one call.
  boost::asio::awaitable<RunOutcome> run_phase(std::string prompt, std::string resume_id);

  // Stops the run from outside (signal, overall timeout). Safe at any time.
  void interrupt(StopCause cause);
  // Why the run was stopped from outside, if it was.
  std::optional<StopCause> stop_cause() const { return stop_cause_; }
  // Writes an event stamped like every other (the loop runner's own events).
  void write_event(boost::json::object event) { write(std::move(event)); }
  // Ends the log of a run that failed outside the turn loop (new, run_end.cpp):
  // closes the loops it opened, else writes a session.end with `error`
  // unless the log already ends with one.
  void end_log_after_failure(const std::string& error);
  // Parked mode writes DONE before it waits (cli.md §3.14).
  void set_sentinel_writer(SentinelWriter writer) { sentinel_ = std::move(writer); }

  // RunCommands: what control clients may ask (control.md §6).
  void cancel() override { interrupt(StopCause::cancelled); }
  void prompt(std::string text) override;
  void interrupt_and_prompt(std::string text, bool keep_queue) override;
  AnswerStatus answer_permission(const std::string& request_id, const std::string& option_id,
                                 const std::optional<std::string>& message) override;
  void release_claim(const std::string& request_id) override;

 private:
  struct TurnResult {
    int exit_code = 1;
    std::string stop_reason;
    bool synthetic = false;
  };
  struct Turn;
  // The one permission request a turn may have open (events.md §7).
  struct PendingPermission {
    unsigned generation = 0;
    std::string request_id;
    boost::json::object request;
    boost::json::array options;
    std::string resolver;             // policy, automatic, reserved, file or none (current)
    bool control_may_answer = false;  // reserved, handed over from a claim, or none
    bool answer_queued = false;
    unsigned serial = 0;      // tells a stale permission timeout apart
    std::string policy_rule;  // the policy rule that answered, if any
  };

  boost::asio::awaitable<RunOutcome> run_attempt(int attempt, const std::string& prompt,
                                                 const std::string& resume_id);
  // `session_id` is updated when the backend reports the real id (§3.5 step 7).
  boost::asio::awaitable<TurnResult> run_turn(BackendConnection& conn, std::string& session_id,
                                              const std::string& text);
  boost::asio::awaitable<TurnResult> cancel_and_end(BackendConnection& conn, Turn& turn,
                                                    const std::string& reason);
  boost::asio::awaitable<void> close_connection(BackendConnection& conn);
  // Sleeps for the retry backoff; false when the run was stopped meanwhile.
  boost::asio::awaitable<bool> backoff(std::chrono::seconds delay);

  // Parked mode (cli.md §3.14, run_parking.cpp).
  struct Parked {
    std::optional<std::string> next;  // the prompt that woke the run
    std::optional<TurnResult> ended;  // stopped while parked; neither: expired
  };
  bool parking() const {
    return setup_.options.parked_timeout.has_value() && setup_.options.loop_file.empty();
  }
  boost::asio::awaitable<Parked> park(const std::string& session_id);
  TurnResult end_parked(const std::string& session_id, StopCause cause);
  // The text a waiting control prompt gives the next turn: an interrupt
  // first, else the head of the queue.
  std::optional<std::string> take_waiting_prompt();
  void write_sentinel_now(int exit_code, const std::string& session_id,
                          const std::string& stop_reason);

  // Session-id adoption (cli.md §3.5 step 7): false on session_id_conflict.
  bool adopt_session(Turn& turn, const std::string& real_id);
  RunOutcome session_conflict(const std::string& session_id);

  // Turn helpers.
  void handle_backend_event(Turn& turn, BackendEvent event);
  // Hands the events of `batch` to `handle` in order, as many as the
  // mailbox's yield budget allows and while `handle` returns true; the rest
  // goes back to the front of the mailbox, so a batch behaves like as many
  // separate messages.
  void take_events(BackendEventMessage& batch, const std::function<bool(BackendEvent&)>& handle);
  void begin_permission(Turn& turn, const boost::json::object& request);
  // The control claim ended unanswered: file handler, else nobody.
  void end_claim(const std::string& request_id);
  void start_file_handler();
  void finish_permission(BackendConnection& conn, Turn& turn, PermissionDecisionMessage& msg);
  void abandon_permission();
  // --permission-timeout (new): arms the wait for the pending request; when
  // it runs out the request is rejected, or the run cancelled.
  void arm_permission_timeout();
  void permission_timed_out(unsigned serial);
  void write_status(const std::string& phase, const std::string& label, const char* source,
                    const std::string& session_id);
  void write_error(const std::string& source, const std::string& message,
                   const std::string& session_id);
  void write(boost::json::object event);
  void write(BackendEvent& event);  // the serialised fast path when it can
  // The synthetic session.end of a turn, an attempt or a run avenor ended
  // itself (new, run_end.cpp): every ended attempt leaves exactly one.
  void write_turn_end(Turn& turn, std::string_view stop_reason, const std::string& error);
  void write_end(const std::string& session_id, std::string_view stop_reason,
                 const std::string& error);
  void arm_timer(boost::asio::steady_timer& timer, std::chrono::nanoseconds after, TimerKind kind);
  bool is_live(const TimerMessage& m) const {
    return m.epoch == timer_epochs_[static_cast<int>(m.kind)];
  }
  boost::asio::awaitable<void> wait_for_close(unsigned generation);

  bool is_current(unsigned generation) const { return generation == generation_; }

  boost::asio::io_context& io_;
  RunSetup setup_;
  EventPipeline& events_;
  ControlPlane* control_;
  std::ostream& err_;
  Mailbox<RunMessage> mailbox_;
  boost::asio::steady_timer progress_timer_;
  boost::asio::steady_timer cancel_timer_;
  boost::asio::steady_timer backoff_timer_;
  boost::asio::steady_timer claim_timer_;
  boost::asio::steady_timer parked_timer_;
  std::optional<StopCause> stop_cause_;
  MarkerScanner markers_;
  StatusTracker status_;
  unsigned generation_ = 0;
  unsigned timer_epochs_[kTimerKinds] = {};
  unsigned closed_generation_ = 0;  // the attempt whose backend went away
  std::optional<PendingPermission> pending_;
  std::set<std::string, std::less<>> resolved_requests_;
  std::deque<std::string> queued_prompts_;
  std::optional<std::string> interrupt_text_;
  std::unique_ptr<FilePermissionHandler> file_handler_;
  std::optional<boost::asio::steady_timer> permission_timer_;  // made on first use
  unsigned permission_serial_ = 0;
  bool write_failed_ = false;
  SessionIdentityMap identities_;
  std::optional<DirSnapshot> dir_at_start_;  // parked mode only: output_files
  SentinelWriter sentinel_;
  LogEnding log_ending_;    // what the log ends with so far
  std::string last_error_;  // the latest avenor.error text: a failed turn's `error`
};

}  // namespace avenor::host
