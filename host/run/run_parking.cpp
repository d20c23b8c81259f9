// Parked mode (cli.md §3.14): after a successful turn with nothing queued the
// run keeps its backend connection and session, and waits for a control
// prompt, a stop or the end of --parked-timeout. Backend-agnostic: the
// BackendConnection simply stays open between turns.
#include <avenor/sdk/json.hpp>
#include <boost/json/array.hpp>

#include "run/run_engine.hpp"
#include "run/sentinel.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace json = sdk::json;
using boost::json::object;

std::optional<std::string> RunEngine::take_waiting_prompt() {
  if (interrupt_text_) return *std::exchange(interrupt_text_, std::nullopt);
  if (queued_prompts_.empty()) return std::nullopt;
  std::string text = std::move(queued_prompts_.front());
  queued_prompts_.pop_front();
  return text;
}

void RunEngine::write_sentinel_now(int exit_code, const std::string& session_id,
                                   const std::string& stop_reason) {
  // Whatever the log holds in its batch goes first: a reader of DONE reads a complete log.
  if (!write_failed_) {
    try {
      events_.flush();
    } catch (const std::exception& e) {
      write_failed_ = true;
      err_ << "avenor: write event: " << e.what() << "\n";
    }
  }
  if (sentinel_) sentinel_(exit_code, session_id, stop_reason);
}

asio::awaitable<RunEngine::Parked> RunEngine::park(const std::string& session_id) {
  const auto& o = setup_.options;
  const auto limit = *o.parked_timeout;
  const unsigned gen = generation_;

  // The turn's result is visible before the wait: DONE, then the event.
  write_sentinel_now(0, session_id, {});
  if (control_) {
    control_->snapshot().set_parked(true);
    control_->snapshot().set_turn_state("idle");
  }
  object parked{
      {"event", "avenor.parked"},
      {"timeout_ms", std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()}};
  if (!session_id.empty()) parked["session_id"] = session_id;
  write(std::move(parked));
  if (limit.count() > 0) arm_timer(parked_timer_, limit, TimerKind::parked);

  auto leave = [this] {
    parked_timer_.cancel();
    ++timer_epochs_[static_cast<int>(TimerKind::parked)];  // a timer already fired is stale
    if (control_) control_->snapshot().set_parked(false);
  };
  bool expired = false;
  for (;;) {
    if (write_failed_) {
      leave();
      co_return Parked{std::nullopt, TurnResult{1, "", false}};
    }
    if (stop_cause_) {
      leave();
      co_return Parked{std::nullopt, end_parked(session_id, *stop_cause_)};
    }
    // A prompt wins over a deadline that fired at the same time.
    if (auto next = take_waiting_prompt()) {
      leave();
      // The next turn's outcome is not known yet: DONE would be stale.
      if (!o.sentinel_file.empty()) cleanup_run_files(o.sentinel_file, {}, err_);
      if (control_) control_->snapshot().set_turn_state("starting");
      co_return Parked{std::move(next), std::nullopt};
    }
    if (expired) {
      leave();
      co_return Parked{};
    }
    auto msg = co_await mailbox_.pop();
    if (auto* t = std::get_if<TimerMessage>(&msg)) {
      if (t->kind == TimerKind::parked && is_live(*t)) expired = true;
    } else if (auto* closed = std::get_if<BackendClosedMessage>(&msg)) {
      if (closed->generation != gen) continue;
      // The session cannot take a follow-up any more; the turn that
      // parked still succeeded, so the run ends as if the wait had expired.
      closed_generation_ = gen;
      err_ << "avenor: backend closed while parked: " << closed->reason << "\n";
      write_error("backend", "backend closed while parked: " + closed->reason, session_id);
      leave();
      co_return Parked{};
    } else if (auto* ev = std::get_if<BackendEventMessage>(&msg)) {
      // Late news of the finished turn is logged as it comes; there is no
      // turn to resolve a permission request, so nobody answers it.
      if (ev->generation != gen) continue;
      take_events(*ev, [&](BackendEvent& e) {
        if (e.type() == "permission.request") e.object()["resolver"] = "none";
        write(e);
        return true;
      });
    }
    // PromptQueuedMessage, TurnInterruptMessage, InterruptMessage: the loop
    // head acts on what they changed.
  }
}

RunEngine::TurnResult RunEngine::end_parked(const std::string& session_id, StopCause cause) {
  const char* reason = stop_reason_for(cause);
  const int code = exit_code_for_stop_reason(reason);
  object end{{"event", "session.end"}, {"stop_reason", reason}, {"exit_code", code}};
  if (!session_id.empty()) end["session_id"] = session_id;
  if (dir_at_start_) {
    auto added = dir_at_start_->added_in(DirSnapshot::take(setup_.options.dir));
    if (!added.empty()) end["output_files"] = boost::json::array(added.begin(), added.end());
  }
  if (auto c = status_.observe(end)) write_status(c->phase, c->label, "avenor", session_id);
  write(std::move(end));
  return TurnResult{code, reason, true};
}

}  // namespace avenor::host
