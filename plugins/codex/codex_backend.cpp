#include "codex_backend.hpp"

#include <algorithm>
#include <avenor/sdk/json.hpp>
#include <avenor/sdk/session_dir.hpp>
#include <avenor/sdk/utf8_cut.hpp>
#include <chrono>
#include <utility>

namespace avenor::codex {

namespace json = avenor::sdk::json;
using boost::json::object;
using sdk::Operation;
using sdk::RpcOutcome;

namespace {

// Lines of the diagnostic ring quoted when the connection is lost.
constexpr std::size_t kClosedTailLines = 5;

std::optional<std::string> id_at(const boost::json::value& result, std::string_view container) {
  const object* o = result.if_object();
  const object* inner = o ? json::find_object(*o, container) : nullptr;
  auto id = inner ? json::find_string(*inner, "id") : std::nullopt;
  if (id && id->empty()) id.reset();
  return id;
}

}  // namespace

CodexBackend::CodexBackend(sdk::Host host, sdk::StartOptions options,
                           std::function<std::string(std::int64_t)> request_ids)
    : Backend(host, std::move(options)),
      dir_(sdk::absolute_dir(this->options().dir)),
      rpc_([this](std::string_view bytes) { this->host().write(bytes); },
           sdk::JsonRpcOptions{.version_field = false, .string_ids = std::move(request_ids)}) {
  for (std::string_view method :
       {"item/commandExecution/requestApproval", "item/fileChange/requestApproval",
        "item/permissions/requestApproval"}) {
    // Any other server request is answered -32601 by the peer itself.
    rpc_.on_request(std::string(method),
                    [this](const boost::json::value& id, std::string_view m,
                           const boost::json::value& params) { on_server_request(id, m, params); });
  }
  rpc_.on_any_notification([this](std::string_view method, const boost::json::value& params) {
    on_notification(method, params);
  });
  rpc_.on_warning([this](std::string_view text) {
    diagnostics_.note(text);
    this->host().log(sdk::LogLevel::warn, text);
  });
}

sdk::LaunchSpec CodexBackend::launch() {
  // No flags, no extra environment, the host's working directory: the
  // session directory travels in thread/start.cwd.
  sdk::LaunchSpec spec;
  spec.argv = {"codex", "app-server"};
  // §3.6 close: stdin closed, 5 s for codex to exit on its own, then killed.
  spec.eof_grace = std::chrono::seconds(5);
  return spec;
}

void CodexBackend::on_bytes(std::string_view bytes) {
  if (closed_) return;
  for (const std::string& frame : reader_.feed(bytes)) {
    // A line that is not a protocol message is noted, not fatal: codex's
    // stdout carries nothing else, and one bad line says nothing about the next.
    if (auto error = rpc_.receive(frame)) {
      std::string note = "malformed line from codex (" + *error + "): " + sdk::excerpt(frame);
      diagnostics_.note(note);
      host().log(sdk::LogLevel::warn, note);
    }
    if (closed_) return;
  }
}

void CodexBackend::on_closed(std::string_view reason) {
  if (closed_) return;
  closed_ = closed_text(reason);
  approvals_.clear();
  mapper_.clear();
  early_ends_.clear();
  // Each pending request's callback fails its operation with this text
  // (handshake and session starts, turn/start, turn/interrupt).
  rpc_.fail_all(*closed_);
  for (auto& [turn_id, op] : std::exchange(turn_waiters_, {})) op.fail(*closed_);
  for (CancelWaiter& waiter : std::exchange(cancels_, {})) waiter.op.fail(*closed_);
}

// --- sessions ---------------------------------------------------------------

void CodexBackend::start_session(Operation op, std::optional<std::string> resume_session_id) {
  if (!options().server_url.empty())
    return op.fail("external server URL transport is not implemented by the stdio client");
  if (closed_) return op.fail(*closed_);
  // A thread this connection already holds costs nothing to resume: only the
  // effort override is reset.
  if (resume_session_id && threads_.contains(*resume_session_id))
    return thread_ready(op, *resume_session_id);
  after_handshake(
      [this, op, resume = std::move(resume_session_id)](const std::optional<std::string>& error) {
        if (error) return op.fail(*error);
        if (resume) return resume_thread(op, *resume);
        new_thread(op);
      });
}

void CodexBackend::after_handshake(sdk::StartOnce::Waiter next) {
  handshake_.after(std::move(next), [this] { start_handshake(); });
}

void CodexBackend::start_handshake() {
  object params{{"clientInfo", {{"name", "avenor"}, {"version", "0.0.0"}}},
                {"capabilities", {{"experimentalApi", true}}}};
  rpc_.request("initialize", std::move(params), [this](RpcOutcome r) {
    if (!r.ok()) return finish_handshake(error_text("initialize", *r.error));
    rpc_.notify("initialized");
    finish_handshake(std::nullopt);
  });
}

void CodexBackend::finish_handshake(std::optional<std::string> error) {
  handshake_.finish(std::move(error));
}

void CodexBackend::new_thread(const Operation& op) {
  object params{{"cwd", dir_}};
  if (!options().model.empty()) params["model"] = options().model;
  rpc_.request("thread/start", std::move(params), [this, op](RpcOutcome r) {
    if (!r.ok()) return op.fail(error_text("thread/start", *r.error));
    auto thread_id = id_at(r.result, "thread");
    if (!thread_id) return op.fail("thread/start response missing thread.id");
    thread_ready(op, *thread_id);
  });
}

void CodexBackend::resume_thread(const Operation& op, const std::string& thread_id) {
  // excludeTurns: the history stays in codex; avenor needs only the thread.
  object params{{"threadId", thread_id}, {"excludeTurns", true}};
  rpc_.request("thread/resume", std::move(params), [this, op](RpcOutcome r) {
    if (!r.ok()) return op.fail(error_text("thread/resume", *r.error));
    auto resumed = id_at(r.result, "thread");
    if (!resumed) return op.fail("thread/resume response missing thread.id");
    thread_ready(op, *resumed);
  });
}

void CodexBackend::thread_ready(const Operation& op, const std::string& thread_id) {
  // The thinking value of this start or resume replaces the stored effort;
  // none clears it (backends.md §3.6).
  Thread& thread = threads_[thread_id];
  thread.effort.reset();
  if (!options().thinking.empty()) thread.effort = options().thinking;
  op.complete(object{{"session_id", thread_id}});
}

// --- turns ------------------------------------------------------------------

void CodexBackend::prompt(Operation op, const std::string& session_id, const std::string& text) {
  if (closed_) return op.fail(*closed_);
  Thread& thread = threads_[session_id];
  object params{{"threadId", session_id},
                {"input", boost::json::array{object{{"type", "text"}, {"text", text}}}}};
  if (thread.effort) params["effort"] = *thread.effort;
  ++thread.starting_turns;
  rpc_.request("turn/start", std::move(params),
               [this, op, session_id](RpcOutcome r) { turn_started(op, session_id, r); });
}

void CodexBackend::turn_started(const Operation& op, const std::string& thread_id,
                                const RpcOutcome& outcome) {
  Thread& thread = threads_[thread_id];
  --thread.starting_turns;

  std::optional<std::string> turn_id;
  if (!outcome.ok()) {
    std::string message = error_text("turn/start", *outcome.error);
    if (thread.effort && outcome.error->code != sdk::rpc_code::transport_closed)
      message += " (requested effort \"" + *thread.effort + "\")";
    op.fail(message);
  } else if (turn_id = id_at(outcome.result, "turn"); !turn_id) {
    op.fail("turn/start response missing turn.id");
  }
  if (!turn_id) {
    // A cancel that waited for this turn's id has nothing left to interrupt.
    if (thread.starting_turns == 0 && !thread.active_turn) {
      const std::string why = closed_ ? *closed_ : std::string("no active turn");
      std::erase_if(cancels_, [&](CancelWaiter& w) {
        if (w.thread_id != thread_id || !w.turn_id.empty()) return false;
        w.op.fail(why);
        return true;
      });
    }
    return;
  }

  // turn/completed may overtake the response that names its turn.
  if (auto early = early_ends_.find(*turn_id); early != early_ends_.end()) {
    TurnEnd end = std::move(early->second);
    early_ends_.erase(early);
    finish_turn(op, end);
    std::erase_if(cancels_, [&](CancelWaiter& w) {
      if (w.thread_id != thread_id || !w.turn_id.empty()) return false;
      w.op.complete();
      return true;
    });
    return;
  }
  thread.active_turn = *turn_id;
  turn_waiters_.insert_or_assign(*turn_id, op);
  bool deferred = false;
  for (CancelWaiter& w : cancels_) {
    if (w.thread_id == thread_id && w.turn_id.empty()) {
      w.turn_id = *turn_id;
      deferred = true;
    }
  }
  if (deferred) interrupt(thread_id, *turn_id);
}

void CodexBackend::finish_turn(const Operation& op, const TurnEnd& end) {
  if (end.status == "completed") return op.complete();
  if (end.status == "interrupted") return op.fail("turn cancelled", AVENOR_FAILURE_CANCELLED);
  op.fail("turn failed: " + (end.error_message.empty() ? end.status : end.error_message));
}

void CodexBackend::cancel(Operation op, const std::string& session_id) {
  if (closed_) return op.fail(*closed_);
  auto it = threads_.find(session_id);
  if (it != threads_.end() && it->second.active_turn) {
    std::string turn_id = *it->second.active_turn;
    cancels_.push_back({op, session_id, turn_id});
    return interrupt(session_id, turn_id);
  }
  // The turn exists but its id is not known yet: interrupt once it is.
  if (it != threads_.end() && it->second.starting_turns > 0)
    return cancels_.push_back({op, session_id, {}});
  op.fail("no active turn");
}

void CodexBackend::interrupt(const std::string& thread_id, const std::string& turn_id) {
  // A request, not a notification (D11); the cancel completes when the
  // turn's turn/completed arrives.
  object params{{"threadId", thread_id}, {"turnId", turn_id}};
  rpc_.request("turn/interrupt", std::move(params), [this, thread_id, turn_id](RpcOutcome r) {
    if (r.ok()) return;
    auto it = threads_.find(thread_id);
    if (it == threads_.end() || it->second.active_turn != turn_id) return;  // already over
    std::string message = error_text("turn/interrupt", *r.error);
    std::erase_if(cancels_, [&](CancelWaiter& w) {
      if (w.thread_id != thread_id || w.turn_id != turn_id) return false;
      w.op.fail(message);
      return true;
    });
  });
}

// --- codex → avenor -----------------------------------------------------------

void CodexBackend::on_notification(std::string_view method, const boost::json::value& params) {
  if (method == "item/started") {
    if (const object* p = params.if_object()) approvals_.observe_item_started(*p);
  }
  MappedNotification mapped = mapper_.map(method, params);
  if (mapped.diagnostic) diagnostics_.note(*mapped.diagnostic);
  for (const object& event : mapped.events) host().emit(event);

  if (mapped.turn_started) {
    const object* p = params.if_object();
    auto it = p ? threads_.find(json::string_or(*p, "threadId")) : threads_.end();
    if (it != threads_.end() && !mapped.turn_started->empty())
      it->second.active_turn = *mapped.turn_started;
  }
  if (mapped.turn_end) on_turn_end(*mapped.turn_end);
}

void CodexBackend::on_turn_end(const TurnEnd& end) {
  approvals_.discard_turn(end.thread_id, end.turn_id);
  auto thread = threads_.find(end.thread_id);
  if (thread != threads_.end() && thread->second.active_turn == end.turn_id)
    thread->second.active_turn.reset();

  if (auto waiter = turn_waiters_.find(end.turn_id); waiter != turn_waiters_.end()) {
    Operation op = waiter->second;
    turn_waiters_.erase(waiter);
    finish_turn(op, end);
  } else if (thread != threads_.end() && thread->second.starting_turns > 0) {
    early_ends_.insert_or_assign(end.turn_id, end);
  }
  std::erase_if(cancels_, [&](CancelWaiter& w) {
    if (w.thread_id != end.thread_id || w.turn_id != end.turn_id) return false;
    w.op.complete();
    return true;
  });
}

void CodexBackend::on_server_request(const boost::json::value& id, std::string_view method,
                                     const boost::json::value& params) {
  auto opened = approvals_.open(id, method, params);
  if (auto* error = std::get_if<std::string>(&opened))
    return rpc_.respond_error(id, sdk::rpc_code::invalid_params, *error);
  host().emit(std::get<object>(opened));
}

void CodexBackend::answer_permission(Operation op, const sdk::PermissionAnswer& answer) {
  if (closed_) return op.fail(*closed_);
  auto decided = approvals_.answer(answer);
  if (auto* error = std::get_if<std::string>(&decided)) return op.fail(*error);
  ApprovalResponse& response = std::get<ApprovalResponse>(decided);
  rpc_.respond(response.rpc_id, std::move(response.result));
  op.complete();
}

// --- helpers ------------------------------------------------------------------

// A transport failure already reads "codex app-server exited: ..." and is
// passed on verbatim; anything else names its method.
std::string CodexBackend::error_text(std::string_view method, const sdk::RpcError& error) const {
  if (error.code == sdk::rpc_code::transport_closed) return error.message;
  return std::string(method) + ": " + error.message;
}

std::string CodexBackend::closed_text(std::string_view reason) const {
  std::string text = "codex app-server exited";
  if (!reason.empty()) text += ": " + std::string(reason);
  if (diagnostics_.size() > 0) text += "; last diagnostics: " + diagnostics_.tail(kClosedTailLines);
  return text;
}

}  // namespace avenor::codex
