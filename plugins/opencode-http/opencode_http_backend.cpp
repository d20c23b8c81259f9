#include "opencode_http_backend.hpp"

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/session_dir.hpp>
#include <stdexcept>
#include <utility>

#include "permission_options.hpp"
#include "prompt_exchange.hpp"
#include "server_address.hpp"

namespace avenor::opencode_http {

namespace json = sdk::json;
using boost::json::object;

namespace {

enum TimerId : std::uint64_t {
  kHealthRetry = 1,
  kHealthDeadline,
  kServerStart,
  kStreamReconnect,
  kStreamWait,
  kFirstSettleTimer = 100,  // one per session from here on
};

constexpr std::chrono::milliseconds kHealthRequestTimeout{5000};
constexpr std::chrono::milliseconds kFirstHealthRetry{50};
constexpr std::chrono::milliseconds kMaxHealthRetry{500};
constexpr std::chrono::milliseconds kSessionTimeout{30000};
constexpr std::chrono::milliseconds kAbortTimeout{5000};
constexpr std::chrono::milliseconds kPermissionTimeout{10000};
constexpr std::chrono::milliseconds kNoLimit{0};  // a turn takes as long as it takes

std::string seconds(std::chrono::milliseconds d) { return std::to_string(d.count() / 1000) + "s"; }

}  // namespace

std::vector<std::string> managed_server_argv() {
  return {"opencode", "serve", "--hostname", "127.0.0.1", "--port", "0", "--pure"};
}

OpencodeHttpBackend::OpencodeHttpBackend(sdk::Host host, sdk::StartOptions options, Limits limits)
    : Backend(host, std::move(options)),
      limits_(limits),
      managed_(this->options().server_url.empty()),
      dir_(sdk::absolute_dir(this->options().dir)),
      client_(host),
      stream_(host, client_, EventStream::TimerIds{kStreamReconnect, kStreamWait},
              [this](const sdk::SseEvent& e) { on_stream_event(e); }) {
  if (managed_) return;
  client_.set_address(ServerAddress::parse(this->options().server_url));
  if (!dir_allowed_with_url(this->options().dir))
    throw std::invalid_argument(
        "--dir must be empty or \".\" with a server URL: the working directory is the "
        "server's (got --dir " +
        this->options().dir + ")");
}

OpencodeHttpBackend::~OpencodeHttpBackend() = default;

sdk::LaunchSpec OpencodeHttpBackend::launch() {
  sdk::LaunchSpec spec;
  if (!managed_) return spec;  // empty argv: no process
  spec.argv = managed_server_argv();
  spec.cwd = dir_;
  return spec;
}

// --- the managed server's stdout ---------------------------------------------

void OpencodeHttpBackend::on_bytes(std::string_view bytes) {
  if (!managed_ || closed_) return;
  auto url = listening_.feed(bytes);
  if (!url) return;
  try {
    client_.set_address(ServerAddress::parse(*url));
  } catch (const std::exception& e) {
    host().fatal(std::string("opencode serve announced an unusable URL: ") + e.what());
    return;
  }
  host().log(sdk::LogLevel::info, "managed opencode server listening on " + *url);
  host().cancel_timer(kServerStart);
  if (readiness_ == Readiness::waiting_for_server) check_health();
}

void OpencodeHttpBackend::on_closed(std::string_view reason) {
  if (closed_) return;
  std::string text = managed_ ? "opencode serve exited" : "opencode-http backend closed";
  if (!reason.empty()) text += ": " + std::string(reason);
  if (managed_ && !listening_.found() && !listening_.recent_output().empty())
    text += " (output: " + listening_.recent_output() + ")";
  closed_ = text;
  stream_.stop();
  finish_readiness(text);
  for (auto& [id, session] : sessions_) {
    if (session.prompt_op) session.prompt_op->fail(text);
  }
  permissions_.clear();
}

// --- readiness ----------------------------------------------------------------

void OpencodeHttpBackend::when_ready(ReadyFn next) {
  if (closed_) return next(*closed_);
  switch (readiness_) {
    case Readiness::ready:
      return next(std::nullopt);
    case Readiness::failed:
      return next(readiness_error_);
    case Readiness::waiting_for_server:
    case Readiness::checking_health:
      ready_waiters_.push_back(std::move(next));
      return;
    case Readiness::not_started:
      break;
  }
  ready_waiters_.push_back(std::move(next));
  if (client_.has_address()) return check_health();
  readiness_ = Readiness::waiting_for_server;
  host().set_timer(kServerStart, limits_.server_start);
}

void OpencodeHttpBackend::check_health() {
  if (readiness_ != Readiness::checking_health) {
    readiness_ = Readiness::checking_health;
    health_retry_delay_ = kFirstHealthRetry;
    host().set_timer(kHealthDeadline, limits_.health);
  }
  health_call_ = client_.get("/global/health", kHealthRequestTimeout, [this](ServerReply r) {
    health_call_.reset();
    if (readiness_ != Readiness::checking_health) return;
    if (r.ok()) {
      host().cancel_timer(kHealthDeadline);
      host().log(sdk::LogLevel::info,
                 "opencode server " + client_.address().base() + " is healthy");
      stream_.start();
      return finish_readiness(std::nullopt);
    }
    // A 4xx (bad credentials, say) will not get better by asking again.
    health_failed(r.error, !(r.status >= 400 && r.status < 500));
  });
}

void OpencodeHttpBackend::health_failed(const std::string& error, bool retry) {
  last_health_error_ = error;
  if (!retry) {
    host().cancel_timer(kHealthDeadline);
    return finish_readiness("opencode server " + client_.address().base() +
                            " is not usable: " + error);
  }
  host().set_timer(kHealthRetry, health_retry_delay_);
  health_retry_delay_ = std::min(health_retry_delay_ * 2, kMaxHealthRetry);
}

void OpencodeHttpBackend::finish_readiness(std::optional<std::string> error) {
  if (readiness_ == Readiness::ready || readiness_ == Readiness::failed) return;
  host().cancel_timer(kHealthRetry);
  host().cancel_timer(kHealthDeadline);
  host().cancel_timer(kServerStart);
  if (health_call_) client_.cancel(*std::exchange(health_call_, std::nullopt));
  readiness_ = error ? Readiness::failed : Readiness::ready;
  if (error) readiness_error_ = *error;
  for (ReadyFn& waiter : std::exchange(ready_waiters_, {})) waiter(error);
}

void OpencodeHttpBackend::on_timer(std::uint64_t timer_id) {
  if (closed_) return;
  if (stream_.on_timer(timer_id)) return;
  switch (timer_id) {
    case kHealthRetry:
      if (readiness_ == Readiness::checking_health && !health_call_) check_health();
      return;
    case kHealthDeadline:
      if (readiness_ == Readiness::checking_health)
        finish_readiness("opencode server " + client_.address().base() + " not healthy within " +
                         seconds(limits_.health) + ": " + last_health_error_);
      return;
    case kServerStart:
      if (readiness_ == Readiness::waiting_for_server) {
        std::string text =
            "opencode serve did not announce its URL within " + seconds(limits_.server_start);
        if (!listening_.recent_output().empty())
          text += " (output: " + listening_.recent_output() + ")";
        finish_readiness(text);
      }
      return;
    default:
      break;
  }
  for (auto& [id, session] : sessions_) {
    if (session.settle_timer == timer_id) return apply(id, session.gate.timer());
  }
}

// --- sessions -------------------------------------------------------------------

void OpencodeHttpBackend::start_session(sdk::Operation op,
                                        std::optional<std::string> resume_session_id) {
  if (closed_) return op.fail(*closed_);
  // A session this instance already holds costs nothing to resume.
  if (resume_session_id && sessions_.contains(*resume_session_id))
    return op.complete(object{{"session_id", *resume_session_id}});
  when_ready(
      [this, op, resume = std::move(resume_session_id)](const std::optional<std::string>& error) {
        if (error) return op.fail(*error);
        if (resume) return resume_session(op, *resume);
        new_session(op);
      });
}

void OpencodeHttpBackend::new_session(const sdk::Operation& op) {
  client_.post("/session", object{}, kSessionTimeout, [this, op](ServerReply r) {
    if (!r.ok()) return op.fail(r.error);
    std::string id;
    try {
      auto v = json::parse(r.body);
      if (const auto* o = v.if_object()) id = json::string_or(*o, "id");
    } catch (const std::exception&) {
    }
    if (id.empty()) return op.fail("POST /session: response has no session id");
    add_session(id);
    op.complete(object{{"session_id", id}});
  });
}

void OpencodeHttpBackend::resume_session(const sdk::Operation& op, const std::string& session_id) {
  client_.get("/session/" + session_id, kSessionTimeout, [this, op, session_id](ServerReply r) {
    if (!r.ok()) return op.fail("resume session " + session_id + ": " + r.error);
    std::string directory;
    try {
      auto v = json::parse(r.body);
      if (const auto* o = v.if_object()) directory = json::string_or(*o, "directory");
    } catch (const std::exception&) {
    }
    host().log(sdk::LogLevel::info,
               "resumed session " + session_id + (directory.empty() ? "" : " in " + directory));
    add_session(session_id);
    op.complete(object{{"session_id", session_id}});
  });
}

OpencodeHttpBackend::Session& OpencodeHttpBackend::add_session(const std::string& session_id) {
  auto [it, inserted] = sessions_.try_emplace(session_id);
  if (inserted) it->second.settle_timer = kFirstSettleTimer + next_timer_++;
  return it->second;
}

// --- turns ------------------------------------------------------------------------

void OpencodeHttpBackend::prompt(sdk::Operation op, const std::string& session_id,
                                 const std::string& text) {
  if (closed_) return op.fail(*closed_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return op.fail("unknown session: " + session_id);
  Session& session = it->second;
  if (session.gate.open()) return op.fail("a turn is already running in session " + session_id);
  session.gate.begin();
  session.prompt_op = op;
  session.waiting_for_stream = true;
  const std::uint64_t turn = ++session.turn;
  // Events of the turn come only over the stream: don't start before it is up.
  stream_.when_connected([this, session_id, turn, text] { send_prompt(session_id, turn, text); },
                         limits_.stream_wait);
}

void OpencodeHttpBackend::send_prompt(const std::string& session_id, std::uint64_t turn,
                                      const std::string& text) {
  auto it = sessions_.find(session_id);
  if (closed_ || it == sessions_.end() || !it->second.waiting_for_stream || it->second.turn != turn)
    return;  // cancelled meanwhile
  it->second.waiting_for_stream = false;
  object body = prompt_body(text, options().model, options().agent);
  client_.post("/session/" + session_id + "/message", body, kNoLimit,
               [this, session_id](ServerReply r) { on_prompt_reply(session_id, std::move(r)); });
}

void OpencodeHttpBackend::on_prompt_reply(const std::string& session_id, ServerReply reply) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end() || !it->second.gate.open()) return;  // the stream ended it
  Session& session = it->second;
  std::optional<PromptResult> result;
  std::string error = reply.error;
  if (reply.ok()) {
    try {
      result = parse_prompt_response(reply.body);
    } catch (const std::exception& e) {
      error = "POST /session/" + session_id + "/message: " + e.what();
    }
  }
  if (!result) {
    session.gate = TurnGate{};
    host().cancel_timer(session.settle_timer);
    if (auto op = std::exchange(session.prompt_op, std::nullopt)) op->fail(error);
    return;
  }
  const bool silent = result->stop_reason.empty();
  TurnGate::Step step = session.gate.response(std::move(*result), stream_.alive());
  // The call has returned even when the response named no stop reason; the
  // stream's idle then ends the turn (the host waits for both).
  if (silent && session.prompt_op) session.prompt_op->complete();
  apply(session_id, step);
}

void OpencodeHttpBackend::apply(const std::string& session_id, TurnGate::Step step) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return;
  switch (step) {
    case TurnGate::Step::wait:
      return;
    case TurnGate::Step::arm_timer:
      host().set_timer(it->second.settle_timer, limits_.settle);
      return;
    case TurnGate::Step::end:
      return end_turn(session_id);
  }
}

void OpencodeHttpBackend::end_turn(const std::string& session_id) {
  Session& session = sessions_.at(session_id);
  host().cancel_timer(session.settle_timer);
  const bool saw_text = session.gate.saw_text();
  TurnGate::Ending ending = session.gate.take_ending();
  object event{
      {"event", "session.end"}, {"session_id", session_id}, {"stop_reason", ending.stop_reason}};
  if (ending.usage) event["usage"] = *ending.usage;
  if (!ending.error_name.empty()) event["error_name"] = ending.error_name;
  if (!ending.error_message.empty()) event["error_message"] = ending.error_message;
  // The reply text normally arrives as stream deltas; if the stream missed
  // all of them, the response still has it.
  if (!saw_text && !ending.reply_text.empty()) event["final_output"] = ending.reply_text;
  if (ending.from_stream) event["ended_by"] = "stream";
  forget_permissions_of(session_id);  // the turn is over: its requests are moot
  host().emit(event);
  if (auto op = std::exchange(session.prompt_op, std::nullopt)) op->complete();
}

void OpencodeHttpBackend::cancel(sdk::Operation op, const std::string& session_id) {
  if (closed_) return op.fail(*closed_);
  forget_permissions_of(session_id);
  if (auto it = sessions_.find(session_id);
      it != sessions_.end() && it->second.waiting_for_stream) {
    // The prompt never left: there is nothing to abort, and it must not go out now.
    Session& session = it->second;
    session.waiting_for_stream = false;
    session.gate = TurnGate{};
    if (auto prompt = std::exchange(session.prompt_op, std::nullopt))
      prompt->fail("cancelled before the prompt was sent", AVENOR_FAILURE_CANCELLED);
    return op.complete();
  }
  if (readiness_ != Readiness::ready) return op.complete();  // nothing runs there yet
  client_.post("/session/" + session_id + "/abort", object{}, kAbortTimeout, [op](ServerReply r) {
    if (!r.ok()) return op.fail(r.error);
    op.complete();
  });
}

// --- the event stream -----------------------------------------------------------------

void OpencodeHttpBackend::on_stream_event(const sdk::SseEvent& sse) {
  if (closed_) return;
  MappedEvent m;
  try {
    m = mapper_.map(sse.data, sse.id);
  } catch (const std::exception& e) {
    host().log(sdk::LogLevel::warn, std::string("event stream: skipped a payload: ") + e.what());
    return;
  }
  // One stream carries every session of the server: keep this instance's own
  // and the server-wide events.
  Session* session = nullptr;
  if (!m.session_id.empty()) {
    auto it = sessions_.find(m.session_id);
    if (it == sessions_.end()) return;
    session = &it->second;
  }
  if (m.permission) permissions_[m.permission->request_id] = {m.session_id, m.permission->options};
  if (!m.answered_request_id.empty()) permissions_.erase(m.answered_request_id);
  if (m.event) {
    if (session && json::string_or(*m.event, "event") == "agent.message_chunk")
      session->gate.text_seen();
    host().emit(*m.event);
  }
  if (!session) return;
  switch (m.signal) {
    case SessionSignal::busy:
      session->gate.busy();
      break;
    case SessionSignal::error:
      session->gate.error(m.error_name, m.error_message);
      break;
    case SessionSignal::idle:
      apply(m.session_id, session->gate.idle());
      break;
    case SessionSignal::none:
      break;
  }
}

// --- permissions ------------------------------------------------------------------

void OpencodeHttpBackend::answer_permission(sdk::Operation op,
                                            const sdk::PermissionAnswer& answer) {
  if (closed_) return op.fail(*closed_);
  auto it = permissions_.find(answer.request_id);
  if (it == permissions_.end() ||
      (!answer.session_id.empty() && answer.session_id != it->second.session_id))
    return op.fail("unknown permission request_id: " + answer.request_id);
  PermissionReply choice = choose_reply(it->second.options, answer);
  if (!choice) return op.fail(choice.error);
  const std::string session_id = it->second.session_id;
  const std::string request_id = answer.request_id;
  object body{{"reply", choice.reply}};
  if (!answer.message.empty()) body["message"] = answer.message;
  client_.post("/permission/" + request_id + "/reply", body, kPermissionTimeout,
               [this, op, session_id, request_id, reply = choice.reply](ServerReply r) {
                 if (r.ok()) {
                   permissions_.erase(request_id);
                   return op.complete();
                 }
                 send_fallback_reply(op, session_id, request_id, reply, r.error);
               });
}

void OpencodeHttpBackend::send_fallback_reply(const sdk::Operation& op,
                                              const std::string& session_id,
                                              const std::string& request_id,
                                              const std::string& reply,
                                              const std::string& primary_error) {
  host().log(sdk::LogLevel::warn, primary_error + "; trying the session permission route");
  client_.post("/session/" + session_id + "/permissions/" + request_id, fallback_reply_body(reply),
               kPermissionTimeout, [this, op, request_id, primary_error](ServerReply r) {
                 if (!r.ok()) return op.fail(primary_error + "; fallback " + r.error);
                 permissions_.erase(request_id);
                 op.complete();
               });
}

void OpencodeHttpBackend::forget_permissions_of(const std::string& session_id) {
  std::erase_if(permissions_, [&](const auto& p) { return p.second.session_id == session_id; });
}

}  // namespace avenor::opencode_http
