#include "run/run_engine.hpp"

#include <algorithm>
#include <avenor/sdk/json.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "plugin_host/missing_executable.hpp"
#include "run/run_turn.hpp"
#include "run/sentinel.hpp"
#include "util/self_executable.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace json = sdk::json;
using boost::json::object;

namespace {

constexpr auto kCancelBudget = std::chrono::seconds(5);

std::string_view event_type(const object& e) {
  const auto* v = e.if_contains("event");
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

// A start that failed on a program missing from PATH says which and what to
// do; the plugin's own text may only carry a bare ENOENT.
std::string start_failure(const BackendConnection& conn, const std::string& backend,
                          const std::string& error) {
  const std::string& program = conn.missing_executable();
  if (!program.empty() && error.find("start " + program) != std::string::npos)
    return missing_executable_message(backend, program);
  return error;
}

// cli.md §3.5 step 7: an id another identity or attempt holds.
std::string conflict_message(const std::string& session_id) {
  return "session \"" + session_id + "\" already belongs to another identity or attempt";
}

}  // namespace

RunEngine::RunEngine(asio::io_context& io, RunSetup setup, EventPipeline& events, std::ostream& err)
    : io_(io),
      setup_(std::move(setup)),
      events_(events),
      control_(events.control()),
      err_(err),
      mailbox_(io.get_executor()),
      progress_timer_(io),
      cancel_timer_(io),
      backoff_timer_(io),
      claim_timer_(io),
      parked_timer_(io) {
  // Taken before any turn can run, so the agent's files are not in it.
  if (parking()) dir_at_start_ = DirSnapshot::take(setup_.options.dir);
  if (setup_.permission_base)
    file_handler_ =
        std::make_unique<FilePermissionHandler>(io.get_executor(), *setup_.permission_base);
  if (file_handler_) file_handler_->set_notices(&err_);  // a waiting run says so (new)
  // Backend events are logged in batches flushed when the loop turns to
  // other work (EventPipeline).
  events_.set_executor(io.get_executor());
  events_.set_busy_check([this] { return !mailbox_.empty(); });
  if (control_) {
    control_->attach(this);
    control_->set_publisher([this](object e) { return events_.write(std::move(e)); });
    control_->on_all_clients_gone([this] {
      if (pending_ && pending_->resolver == "reserved")
        mailbox_.push(ClaimEndedMessage{pending_->request_id});
    });
  }
}

RunEngine::~RunEngine() {
  events_.set_busy_check({});
  if (control_) {
    control_->attach(nullptr);
    control_->set_publisher({});
    control_->on_all_clients_gone({});
  }
}

void RunEngine::prompt(std::string text) {
  queued_prompts_.push_back(std::move(text));
  mailbox_.push(PromptQueuedMessage{});  // a parked run waits for exactly this
}

void RunEngine::interrupt_and_prompt(std::string text, bool keep_queue) {
  interrupt_text_ = std::move(text);
  if (!keep_queue) queued_prompts_.clear();
  mailbox_.push(TurnInterruptMessage{});
}

void RunEngine::interrupt(StopCause cause) {
  if (!stop_cause_) stop_cause_ = cause;
  mailbox_.push(InterruptMessage{cause});
}

void RunEngine::arm_timer(asio::steady_timer& timer, std::chrono::nanoseconds after,
                          TimerKind kind) {
  unsigned epoch = ++timer_epochs_[static_cast<int>(kind)];
  timer.expires_after(after);
  timer.async_wait([this, kind, epoch](boost::system::error_code ec) {
    if (!ec) mailbox_.push(TimerMessage{kind, epoch});
  });
}

void RunEngine::write(object event) {
  if (write_failed_) return;
  try {
    const std::string type(event_type(event));
    events_.write(std::move(event));
    log_ending_.observe(type);
  } catch (const std::exception& e) {
    write_failed_ = true;
    err_ << "avenor: write event: " << e.what() << "\n";
  }
}

void RunEngine::write(BackendEvent& event) {
  if (write_failed_) return;
  try {
    events_.write(event);
    log_ending_.observe(event.type());
  } catch (const std::exception& e) {
    write_failed_ = true;
    err_ << "avenor: write event: " << e.what() << "\n";
  }
}

void RunEngine::take_events(BackendEventMessage& batch,
                            const std::function<bool(BackendEvent&)>& handle) {
  const std::size_t budget = mailbox_.budget(batch.events.size() - batch.next);
  std::size_t handled = 0;
  while (batch.next < batch.events.size() && handled < budget) {
    ++handled;
    if (!handle(batch.events[batch.next++])) break;
  }
  mailbox_.consumed(handled);
  if (const std::size_t left = batch.events.size() - batch.next; left > 0)
    mailbox_.push_front(std::move(batch), left);
}

void RunEngine::write_status(const std::string& phase, const std::string& label, const char* source,
                             const std::string& session_id) {
  object e{{"event", "agent.status"}, {"phase", phase}, {"source", source}};
  if (!label.empty()) e["label"] = label;
  if (!session_id.empty()) e["session_id"] = session_id;
  write(e);
}

void RunEngine::write_error(const std::string& source, const std::string& message,
                            const std::string& session_id) {
  object e{{"event", "avenor.error"}, {"source", source}, {"message", message}};
  if (!session_id.empty()) e["session_id"] = session_id;
  write(e);
  last_error_ = message;
}

asio::awaitable<RunOutcome> RunEngine::run_phase(std::string prompt, std::string resume) {
  const auto& o = setup_.options;
  RunOutcome last;
  last.session_id = resume;
  DirectiveMark directive;
  auto stopped = [&] {
    const char* reason = stop_reason_for(*stop_cause_);
    // Stopped before an attempt or during a backoff: no turn wrote the end.
    write_end(last.session_id, reason, {});
    return RunOutcome{exit_code_for_stop_reason(reason), last.session_id, reason, true, directive};
  };
  for (int attempt = 1;; ++attempt) {
    if (stop_cause_) co_return stopped();
    last = co_await run_attempt(attempt, prompt, resume);
    // Across retries (events.md §9.3): a non-retryable attempt's directive
    // stands; a failed one may only raise what was seen before.
    if (last.exit_code != 1 || last.directive.directive > directive.directive)
      directive = last.directive;
    last.directive = directive;
    if (last.exit_code != 1 || !last.retryable || attempt > o.max_retries ||
        last.stop_reason == "session_id_conflict") {
      // Parked mode, a failed turn whose backend went away (cli.md §3.14):
      // its result stands, and a queued prompt goes on resuming the session.
      if (parking() && last.exit_code != 0 && last.exit_code != 130 && last.retryable &&
          last.stop_reason != "session_id_conflict" && !stop_cause_ && !write_failed_ &&
          (interrupt_text_ || !queued_prompts_.empty())) {
        write_sentinel_now(last.exit_code, last.session_id,
                           last.synthetic ? last.stop_reason : std::string());
        prompt = *take_waiting_prompt();
        if (!last.session_id.empty()) resume = last.session_id;
        continue;
      }
      break;
    }
    if (!last.session_id.empty()) resume = last.session_id;  // retries resume the failed session
    object retry{
        {"event", "avenor.retry"}, {"attempt", attempt + 1}, {"max_retries", o.max_retries}};
    if (!last.session_id.empty()) retry["session_id"] = last.session_id;
    write(retry);
    if (write_failed_) break;
    if (!o.sentinel_file.empty())
      cleanup_run_files(o.sentinel_file,
                        setup_.permission_base.value_or(derive_permission_base(o.sentinel_file)),
                        err_);
    // Parked mode: a queued prompt is the retry, at once (cli.md §3.14).
    if (parking() && (interrupt_text_ || !queued_prompts_.empty())) {
      prompt = *take_waiting_prompt();
      continue;
    }
    auto delay = std::chrono::seconds(std::min(1 << std::min(attempt, 5), 30));
    if (!co_await backoff(delay)) co_return stopped();
  }
  co_return last;
}

asio::awaitable<bool> RunEngine::backoff(std::chrono::seconds delay) {
  arm_timer(backoff_timer_, delay, TimerKind::backoff);
  for (;;) {
    if (stop_cause_) {
      backoff_timer_.cancel();
      co_return false;
    }
    auto msg = co_await mailbox_.pop();
    if (auto* t = std::get_if<TimerMessage>(&msg);
        t && t->kind == TimerKind::backoff && is_live(*t))
      co_return true;
  }
}

asio::awaitable<RunOutcome> RunEngine::run_attempt(int attempt, const std::string& prompt,
                                                   const std::string& resume_id) {
  const unsigned gen = ++generation_;
  // Whatever way the attempt ends, its late callbacks own no session any more.
  struct Release {
    SessionIdentityMap& map;
    unsigned owner;
    ~Release() { map.release(owner); }
  } release{identities_, gen};
  markers_ = MarkerScanner{};  // directives are counted per attempt
  if (control_) control_->snapshot().set_retry(attempt, setup_.options.max_retries);
  mailbox_.erase_if(
      [](const RunMessage& m) { return !std::holds_alternative<InterruptMessage>(m); });
  const auto& o = setup_.options;

  // The session identity (cli.md §3.13), checked before any provider exists.
  SessionIdentity identity{o.backend, o.agent, setup_.model, o.agent_profile};
  if (!resume_id.empty()) {
    if (auto refusal = identities_.fill_for_resume(resume_id, identity)) {
      err_ << "avenor: " << *refusal << "\n";
      write_end(resume_id, "error", *refusal);
      co_return RunOutcome{1, resume_id, "", false, {}, false};
    }
    if (!identities_.claim(resume_id, identity, gen)) co_return session_conflict(resume_id);
  }

  sdk::StartOptions start;
  start.agent = identity.agent;
  start.label = o.label;
  start.dir = o.dir;
  start.server_url = setup_.server_url;
  start.model = identity.model;
  start.agent_profile = identity.agent_profile;
  start.runtime_id = o.runtime_id;
  start.thinking = o.thinking;
  start.host_executable = self_executable();
  start.resume_session_id = resume_id;

  std::unique_ptr<BackendConnection> conn;
  std::string create_error;
  try {
    BackendConnection::Callbacks callbacks;
    callbacks.on_events = [this, gen](std::vector<BackendEvent> events) {
      const std::size_t n = events.size();
      mailbox_.push(BackendEventMessage{gen, std::move(events)}, n);
    };
    callbacks.on_closed = [this, gen](std::string reason) {
      mailbox_.push(BackendClosedMessage{gen, std::move(reason)});
    };
    conn = std::make_unique<BackendConnection>(io_, setup_.backend, start, std::move(callbacks));
    conn->launch();
    if (control_ && conn->pid() > 0) control_->snapshot().set_pid(conn->pid());
  } catch (const MissingExecutable& e) {
    create_error = "start session: " + missing_executable_message(o.backend, e.executable());
  } catch (const std::exception& e) {
    create_error = std::string("create provider: ") + e.what();
  }
  if (!create_error.empty()) {
    err_ << "avenor: " << create_error << "\n";
    write_end(resume_id, "error", create_error);
    if (conn) co_await close_connection(*conn);
    co_return RunOutcome{1, resume_id, "", false, {}};
  }

  object params;
  if (!resume_id.empty()) params["resume_session_id"] = resume_id;
  conn->start_session(params, [this, gen](OperationResult r) {
    mailbox_.push(OperationDoneMessage{gen, OperationKind::start_session, std::move(r)});
  });

  std::string session_id;
  std::string reported_id;  // a conversation_id seen before the session existed
  for (;;) {
    if (stop_cause_) {
      // Stopped while the session starts: no turn exists to write the end.
      write_end(resume_id, stop_reason_for(*stop_cause_), {});
      co_await close_connection(*conn);
      co_return RunOutcome{exit_code_for_stop_reason(stop_reason_for(*stop_cause_)),
                           resume_id,
                           stop_reason_for(*stop_cause_),
                           true,
                           {}};
    }
    auto msg = co_await mailbox_.pop();
    if (auto* done = std::get_if<OperationDoneMessage>(&msg)) {
      if (done->generation != gen || done->kind != OperationKind::start_session) continue;
      if (!done->result.ok()) {
        const std::string error =
            "start session: " + start_failure(*conn, o.backend, done->result.error);
        err_ << "avenor: " << error << "\n";
        write_end(resume_id, "error", error);
        co_await close_connection(*conn);
        co_return RunOutcome{1, resume_id, "", false, {}};
      }
      if (const auto* r = done->result.value.if_object())
        session_id = json::string_or(*r, "session_id");
      if (session_id.empty()) session_id = resume_id;
      break;
    }
    if (auto* ev = std::get_if<BackendEventMessage>(&msg); ev && ev->generation == gen) {
      take_events(*ev, [&](BackendEvent& e) {
        if (e.type() == "session.start") {
          if (auto id = json::string_or(e.object(), "conversation_id"); !id.empty())
            reported_id = id;
        }
        write(e);  // before the session exists there is no turn to attach it to
        return true;
      });
    }
  }
  // The id the start returned is the attempt's, unless it only stands in for
  // the one the backend reports (a resume answered with a new id, a
  // conversation_id): then it is aliased and the reported one adopted.
  bool owned = true;
  if (!session_id.empty() && session_id != resume_id)
    owned = resume_id.empty() ? identities_.claim(session_id, identity, gen)
                              : identities_.adopt(resume_id, session_id, gen);
  if (owned && !reported_id.empty() && !session_id.empty() && reported_id != session_id) {
    owned = identities_.adopt(session_id, reported_id, gen);
    if (owned) session_id = reported_id;
  }
  if (!owned) {
    co_await close_connection(*conn);
    co_return session_conflict(reported_id.empty() ? session_id : reported_id);
  }
  if (control_) control_->snapshot().set_session_id(session_id);

  // Control clients steer the session between turns (cli.md §3.5 step 4):
  // an interrupt first, then queued prompts only after a successful turn;
  // parked mode waits for them (§3.14).
  std::string text = prompt;
  if (interrupt_text_) text = *std::exchange(interrupt_text_, std::nullopt);
  TurnResult turn;
  for (;;) {
    turn = co_await run_turn(*conn, session_id, text);
    if (stop_cause_ || write_failed_ || closed_generation_ == gen ||
        turn.stop_reason == "session_id_conflict")
      break;
    if (interrupt_text_) {
      text = *std::exchange(interrupt_text_, std::nullopt);
      continue;
    }
    if (!queued_prompts_.empty()) {
      if (turn.exit_code == 0) {
        text = *take_waiting_prompt();
        continue;
      }
      // Parked mode after a failed turn: a retry that is due runs the queued
      // prompt instead of the backoff (run_phase); otherwise the failure
      // stands in the sentinel and the session goes on, unless cancelled.
      const bool retry_due = turn.exit_code == 1 && attempt <= o.max_retries;
      if (parking() && !retry_due && turn.exit_code != 130) {
        write_sentinel_now(turn.exit_code, session_id,
                           turn.synthetic ? turn.stop_reason : std::string());
        text = *take_waiting_prompt();
        continue;
      }
      break;
    }
    if (!parking() || turn.exit_code != 0) break;
    Parked parked = co_await park(session_id);
    if (parked.next) {
      text = std::move(*parked.next);
      continue;
    }
    if (parked.ended) turn = *parked.ended;
    break;  // expired: the successful turn is the result
  }
  co_await close_connection(*conn);
  co_return RunOutcome{turn.exit_code, session_id, turn.stop_reason, turn.synthetic,
                       markers_.directive()};
}

RunOutcome RunEngine::session_conflict(const std::string& session_id) {
  err_ << "avenor: " << conflict_message(session_id) << "\n";
  write_error("session", conflict_message(session_id), session_id);
  write_end(session_id, "session_id_conflict", conflict_message(session_id));
  return RunOutcome{1, session_id, "session_id_conflict", true, {}, false};
}

bool RunEngine::adopt_session(Turn& turn, const std::string& real_id) {
  if (real_id.empty() || real_id == turn.session_id) return true;
  if (!identities_.adopt(turn.session_id, real_id, turn.generation)) return false;
  turn.session_id = real_id;
  if (turn.attempt_session_id) *turn.attempt_session_id = real_id;
  if (control_) control_->snapshot().set_session_id(real_id);
  return true;
}

asio::awaitable<void> RunEngine::close_connection(BackendConnection& conn) {
  const unsigned gen = generation_;
  conn.close([this, gen] { mailbox_.push(OperationDoneMessage{gen, OperationKind::close, {}}); });
  co_await wait_for_close(gen);
}

asio::awaitable<void> RunEngine::wait_for_close(unsigned generation) {
  for (;;) {
    auto msg = co_await mailbox_.pop();
    if (auto* done = std::get_if<OperationDoneMessage>(&msg);
        done && done->generation == generation && done->kind == OperationKind::close)
      co_return;
  }
}

asio::awaitable<RunEngine::TurnResult> RunEngine::run_turn(BackendConnection& conn,
                                                           std::string& session_id,
                                                           const std::string& text) {
  Turn turn;
  turn.generation = generation_;
  turn.session_id = session_id;
  turn.attempt_session_id = &session_id;
  status_.reset();
  const auto progress = setup_.options.progress_timeout;
  const unsigned gen = turn.generation;

  conn.prompt(object{{"session_id", session_id}, {"text", text}}, [this, gen](OperationResult r) {
    mailbox_.push(OperationDoneMessage{gen, OperationKind::prompt, std::move(r)});
  });
  if (progress.count() > 0) arm_timer(progress_timer_, progress, TimerKind::progress);

  last_error_.clear();
  auto finish = [&](TurnResult r) {
    progress_timer_.cancel();
    abandon_permission();
    // A turn that failed before the backend's session.end still ends with
    // one (new), carrying the avenor.error that ended it.
    if (!turn.end_written)
      write_turn_end(turn, r.stop_reason.empty() ? "error" : r.stop_reason, last_error_);
    return r;
  };

  for (;;) {
    if (write_failed_) co_return finish(TurnResult{1, turn.stop_reason, false});
    if (turn.result) co_return finish(*turn.result);
    if (turn.stop_now) co_return co_await cancel_and_end(conn, turn, *turn.stop_now);
    if (stop_cause_) co_return co_await cancel_and_end(conn, turn, stop_reason_for(*stop_cause_));
    if (turn.end_written && turn.prompt_returned && !pending_)
      co_return finish(
          TurnResult{exit_code_for_stop_reason(turn.stop_reason), turn.stop_reason, false});

    auto msg = co_await mailbox_.pop();
    if (auto* ev = std::get_if<BackendEventMessage>(&msg)) {
      if (ev->generation != gen) continue;
      if (progress.count() > 0) arm_timer(progress_timer_, progress, TimerKind::progress);
      // After each event, what the loop head checks decides whether the next
      // one may follow at once or must wait until the head has acted.
      take_events(*ev, [&](BackendEvent& e) {
        handle_backend_event(turn, std::move(e));
        return !(write_failed_ || turn.result || turn.stop_now || stop_cause_ ||
                 (turn.end_written && turn.prompt_returned && !pending_));
      });
    } else if (auto* done = std::get_if<OperationDoneMessage>(&msg)) {
      if (done->generation != gen) continue;
      if (done->kind == OperationKind::prompt) {
        turn.prompt_returned = true;
        if (done->result.status == OperationResult::Status::cancelled) {
          turn.stop_now = "cancelled";
        } else if (!done->result.ok()) {
          err_ << "avenor: prompt: " << done->result.error << "\n";
          write_error("prompt", done->result.error, turn.session_id);
          turn.result = TurnResult{1, "", false};
        }
      } else if (done->kind == OperationKind::answer_permission && !done->result.ok()) {
        err_ << "avenor: permission: " << done->result.error << "\n";
        write_error("permission", done->result.error, turn.session_id);
        turn.result = TurnResult{1, "", false};
      }
    } else if (auto* closed = std::get_if<BackendClosedMessage>(&msg)) {
      if (closed->generation != gen) continue;
      closed_generation_ = gen;
      if (turn.end_written) continue;
      err_ << "avenor: backend closed: " << closed->reason << "\n";
      write_error("backend", "event stream closed before session.end: " + closed->reason,
                  turn.session_id);
      turn.result = TurnResult{1, "", false};
    } else if (auto* decision = std::get_if<PermissionDecisionMessage>(&msg)) {
      if (decision->generation == gen) finish_permission(conn, turn, *decision);
    } else if (auto* timer = std::get_if<TimerMessage>(&msg)) {
      if (timer->kind == TimerKind::progress && is_live(*timer)) turn.stop_now = "progress_timeout";
      if (timer->kind == TimerKind::claim && is_live(*timer) && pending_)
        end_claim(pending_->request_id);
    } else if (auto* claim = std::get_if<ClaimEndedMessage>(&msg)) {
      end_claim(claim->request_id);
    } else if (std::holds_alternative<TurnInterruptMessage>(msg)) {
      // Only an interrupt whose text is still waiting cancels the turn; one
      // already consumed as this turn's prompt does not.
      if (interrupt_text_ && !turn.end_written) turn.stop_now = "cancelled";
    }
    // InterruptMessage: stop_cause_ is already set; the loop head acts on it.
  }
}

asio::awaitable<RunEngine::TurnResult> RunEngine::cancel_and_end(BackendConnection& conn,
                                                                 Turn& turn,
                                                                 const std::string& reason) {
  progress_timer_.cancel();
  abandon_permission();
  const unsigned gen = turn.generation;
  conn.cancel(object{{"session_id", turn.session_id}}, [this, gen](OperationResult r) {
    mailbox_.push(OperationDoneMessage{gen, OperationKind::cancel, std::move(r)});
  });
  arm_timer(cancel_timer_, kCancelBudget, TimerKind::cancel_deadline);
  bool prompt_may_return = true;
  for (bool waiting = true; waiting;) {
    auto msg = co_await mailbox_.pop();
    if (auto* ev = std::get_if<BackendEventMessage>(&msg)) {
      // Events keep flowing while the backend winds down; permission
      // requests are recorded but nobody answers them any more.
      if (ev->generation != gen) continue;
      take_events(*ev, [&](BackendEvent& e) {
        if (e.type() == "permission.request") {
          e.object()["resolver"] = "none";
          write(e);
        } else {
          handle_backend_event(turn, std::move(e));
        }
        return true;
      });
    } else if (auto* done = std::get_if<OperationDoneMessage>(&msg)) {
      if (done->generation != gen) continue;
      if (done->kind == OperationKind::prompt) turn.prompt_returned = true;
      if (done->kind == OperationKind::cancel) {
        if (!done->result.ok()) write_error("cancel", done->result.error, turn.session_id);
        waiting = false;
      }
    } else if (auto* t = std::get_if<TimerMessage>(&msg)) {
      if (t->kind == TimerKind::cancel_deadline && is_live(*t)) {
        write_error("cancel", "cancel did not finish within 5s", turn.session_id);
        waiting = false;
        prompt_may_return = false;  // the budget is spent
      }
    } else if (auto* closed = std::get_if<BackendClosedMessage>(&msg)) {
      if (closed->generation == gen) {
        closed_generation_ = gen;
        waiting = false;
        prompt_may_return = false;  // nothing more will come back
      }
    }
  }
  write_turn_end(turn, reason, {});
  // The provider is closed only once the in-flight prompt has returned
  // (cli.md §3.5), still within the cancel budget: an agent killed earlier
  // might never read the cancel. Its late events are not logged: the turn
  // already has its session.end.
  while (prompt_may_return && !turn.prompt_returned) {
    auto msg = co_await mailbox_.pop();
    if (auto* done = std::get_if<OperationDoneMessage>(&msg)) {
      if (done->generation == gen && done->kind == OperationKind::prompt)
        turn.prompt_returned = true;
    } else if (auto* t = std::get_if<TimerMessage>(&msg)) {
      if (t->kind == TimerKind::cancel_deadline && is_live(*t)) break;
    } else if (auto* closed = std::get_if<BackendClosedMessage>(&msg)) {
      if (closed->generation == gen) {
        closed_generation_ = gen;
        break;
      }
    }
  }
  cancel_timer_.cancel();
  co_return TurnResult{exit_code_for_stop_reason(reason), reason, true};
}

void RunEngine::handle_backend_event(Turn& turn, BackendEvent event) {
  // A view into `event`, valid while it lives (its fields never change).
  const std::string_view type = event.type();
  // The host reads these events' fields; any other event (chunks, tool
  // updates, plans: the bulk of a turn) stays in its serialised form.
  const bool read_fields = event.has_usage() || StatusTracker::needs_fields(type) ||
                           type == "session.start" || type == "session.end";
  if (event.has_usage()) {
    if (const auto* usage = event.object().if_contains("usage"); usage && usage->is_object())
      turn.usage = *usage;
  }

  bool marker_written = false;
  if (type == "agent.message_chunk" || type == "agent.thought_chunk") {
    const std::string_view text = event.text();
    if (!text.empty()) {
      if (type == "agent.message_chunk") turn.output += text;
      if (auto found = markers_.add_text(text).status) {
        write_status(found->phase, found->label, "agent", turn.session_id);
        status_.set_from_marker(found->phase, found->label);
        marker_written = true;
      }
    }
  }
  if (!marker_written) {
    if (auto c = status_.observe(type, read_fields ? &event.object() : nullptr))
      write_status(c->phase, c->label, "avenor", turn.session_id);
  }
  if (type == "permission.request") {
    begin_permission(turn, event.object());
    return;
  }
  if (type == "session.start" && !turn.stop_now) {
    const std::string id = json::string_or(event.object(), "conversation_id");
    if (!adopt_session(turn, id)) {
      write(event);
      err_ << "avenor: " << conflict_message(id) << "\n";
      write_error("session", conflict_message(id), id);
      turn.stop_now = "session_id_conflict";  // the provider is cancelled, never retried
      return;
    }
  }
  if (type == "session.end") {
    object& end = event.object();
    turn.stop_reason = json::string_or(end, "stop_reason");
    if (!end.contains("final_output") && !turn.output.empty()) end["final_output"] = turn.output;
    turn.end_written = true;
  }
  write(event);
}

}  // namespace avenor::host
