#include "claude_backend.hpp"

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/utf8_cut.hpp>
#include <stdexcept>

#include "launch.hpp"
#include "result_mapper.hpp"

namespace avenor::claude {

namespace json = sdk::json;
using boost::json::object;

ClaudeBackend::ClaudeBackend(sdk::Host host, sdk::StartOptions options, SessionIds ids)
    : Backend(host, std::move(options)), ids_(std::move(ids)) {
  const std::string& resume = this->options().resume_session_id;
  launch_session_ = resume.empty() ? SessionFlag{"--session-id", ids_.new_session_uuid()}
                                   : SessionFlag{"--resume", resume};
}

sdk::LaunchSpec ClaudeBackend::launch() {
  const std::string& resume = options().resume_session_id;
  if (!resume.empty() && !valid_resume_id(resume))
    throw std::runtime_error("claude: invalid session id to resume: \"" + sdk::excerpt(resume) +
                             "\"");
  return launch_spec(options(), launch_session_);
}

// --- transport ---------------------------------------------------------------

void ClaudeBackend::on_bytes(std::string_view bytes) {
  if (broken_ || closed_) return;
  sdk::JsonLines::Batch batch = lines_.feed(bytes);
  for (const std::string& line : batch.lines) {
    handle_line(line);
    if (closed_) return;
  }
  if (batch.error) {
    broken_ = true;
    host().fatal(*batch.error);
  }
}

void ClaudeBackend::on_closed(std::string_view reason) {
  if (closed_) return;
  closed_ = reason.empty() ? std::string("claude exited") : "claude exited: " + std::string(reason);
  auto controls = std::move(controls_);
  controls_.clear();
  for (auto& [id, handler] : controls) handler(nullptr, *closed_);  // a start in flight fails
  if (turn_) fail_turn(*closed_);
}

void ClaudeBackend::write_line(const object& message) { host().write(json::dump(message) + "\n"); }

void ClaudeBackend::send_control(object request, ControlHandler on_response) {
  std::string id = ids_.next_request_id();
  controls_.insert_or_assign(id, std::move(on_response));
  write_line(
      object{{"type", "control_request"}, {"request_id", id}, {"request", std::move(request)}});
}

void ClaudeBackend::handle_line(const std::string& line) {
  const std::optional<object> message = lines_.object_of(line, host());
  if (!message) return;
  const std::string type = json::string_or(*message, "type");
  if (type == "control_request") return handle_control_request(*message);
  if (type == "control_response") return handle_control_response(*message);
  if (type == "control_cancel_request") {
    permissions_.forget(json::string_or(*message, "request_id"));
    return;
  }
  if (type == "result") return handle_result(*message);
  if (type == "system" && json::string_or(*message, "subtype") == "init")
    return handle_init(*message);
  for (const object& e : mapper_.map(*message, sid())) host().emit(e);
}

void ClaudeBackend::handle_control_request(const object& message) {
  const std::string id = json::string_or(message, "request_id");
  const object* request = json::find_object(message, "request");
  const std::string subtype = request ? json::string_or(*request, "subtype") : std::string();
  if (subtype != "can_use_tool") {
    // Hooks, MCP messages, …: never registered by avenor. An answer keeps
    // claude from waiting for one.
    host().log(sdk::LogLevel::warn, "claude: refusing control request \"" + subtype + "\"");
    if (!id.empty())
      write_line(control_error(
          id, "avenor does not serve control requests of subtype \"" + subtype + "\""));
    return;
  }
  auto opened = permissions_.open(message, sid());
  if (auto* error = std::get_if<std::string>(&opened)) {
    host().log(sdk::LogLevel::warn, "claude: " + *error);
    if (!id.empty()) write_line(control_error(id, *error));
    return;
  }
  host().emit(std::get<object>(opened));
}

void ClaudeBackend::handle_control_response(const object& message) {
  const object* response = json::find_object(message, "response");
  if (!response) return;
  const std::string id = json::string_or(*response, "request_id");
  auto it = controls_.find(id);
  if (it == controls_.end()) {
    host().log(sdk::LogLevel::warn, "claude: control_response to no waiting request: " + id);
    return;
  }
  ControlHandler handler = std::move(it->second);
  controls_.erase(it);
  if (json::string_or(*response, "subtype") == "success") {
    static const object kEmpty;
    const object* body = json::find_object(*response, "response");
    return handler(body ? body : &kEmpty, {});
  }
  std::string error = json::string_or(*response, "error");
  handler(nullptr, error.empty() ? "claude refused the request" : error);
}

// --- sessions ----------------------------------------------------------------

void ClaudeBackend::start_session(sdk::Operation op, std::optional<std::string> resume_session_id) {
  if (!options().server_url.empty())
    return op.fail("external server URL transport is not implemented by the stdio client");
  if (closed_) return op.fail(*closed_);
  if (session_id_) {
    // The one session this process holds: resuming it costs nothing. Any
    // other session needs another claude process (claude names it at launch).
    if (!resume_session_id || *resume_session_id != *session_id_)
      return op.fail("claude: this claude process already holds session " + *session_id_ +
                     "; one session per process");
    return op.complete(object{{"session_id", *session_id_}});
  }
  if (starting_) return op.fail("claude: a session is already being started");
  // claude opened its session from the command line; the host named the one
  // to resume in the start options, so a different one here needs a new process.
  const std::string requested = resume_session_id.value_or("");
  if (requested != options().resume_session_id)
    return op.fail("claude: this claude process was started for " +
                   (options().resume_session_id.empty()
                        ? std::string("a new session")
                        : "session " + options().resume_session_id) +
                   "; resuming \"" + sdk::excerpt(requested) + "\" needs a new process");
  const std::string id = launch_session_.id;
  starting_ = true;
  // initialize answers once claude has started and opened the session (an
  // unknown --resume id makes claude exit instead: the start fails with that).
  send_control(object{{"subtype", "initialize"}},
               [this, op, id](const object* response, const std::string& error) {
                 if (!response) return op.fail("claude: start: " + error);
                 session_id_ = id;
                 op.complete(object{{"session_id", id}});
               });
}

void ClaudeBackend::handle_init(const object& message) {
  const std::string reported = json::string_or(message, "session_id");
  if (session_id_ && !reported.empty() && reported != *session_id_)
    host().log(sdk::LogLevel::warn, "claude: reports session " + reported + " for session " +
                                        *session_id_ + "; keeping " + *session_id_);
  object e{{"event", "avenor.system.init"}, {"session_id", sid()}};
  for (const char* key : {"model", "cwd", "claude_code_version", "permissionMode", "apiKeySource"})
    if (const auto* v = message.if_contains(key)) e[key] = *v;
  host().emit(e);
}

// --- turns -------------------------------------------------------------------

void ClaudeBackend::prompt(sdk::Operation op, const std::string& session_id,
                           const std::string& text) {
  if (closed_) return op.fail(*closed_);
  if (!session_id_ || session_id != *session_id_)
    return op.fail("claude: unknown session " + session_id);
  if (turn_) return op.fail("claude: a turn is already running in session " + session_id);
  turn_ = Turn{op, false, {}};
  write_line(object{{"type", "user"},
                    {"message", object{{"role", "user"}, {"content", text}}},
                    {"parent_tool_use_id", nullptr},
                    {"session_id", session_id}});
}

void ClaudeBackend::handle_result(const object& message) {
  if (!turn_) {
    // Before a session exists this is claude giving up on the start (an
    // unknown --resume id); its exit fails the start with its stderr.
    host().log(session_id_ ? sdk::LogLevel::warn : sdk::LogLevel::info,
               "claude: a result line outside any turn: " + sdk::excerpt(json::dump(message)));
    return;
  }
  TurnEnd end = TurnEnd::from_result(message, turn_->interrupt_requested);
  host().emit(end.session_end(sid()));
  mapper_.reset_turn();
  Turn turn = std::move(*turn_);
  turn_.reset();
  // Whatever claude still asked is moot once the turn is over.
  for (const object& line : permissions_.deny_all("the turn is over")) write_line(line);
  switch (end.result) {
    case TurnResult::success:
      turn.op.complete();
      break;
    case TurnResult::cancelled:
      turn.op.fail("claude: the turn was cancelled", AVENOR_FAILURE_CANCELLED);
      break;
    case TurnResult::error:
      turn.op.fail(end.error_message);
      break;
  }
  for (const auto& cancel : turn.cancels) cancel.complete();
}

void ClaudeBackend::fail_turn(const std::string& message) {
  if (!turn_) return;
  Turn turn = std::move(*turn_);
  turn_.reset();
  mapper_.reset_turn();
  turn.op.fail(message);
  for (const auto& cancel : turn.cancels) cancel.fail(message);
}

void ClaudeBackend::cancel(sdk::Operation op, const std::string& session_id) {
  if (closed_) return op.fail(*closed_);
  if (!turn_ || (!session_id.empty() && session_id != sid())) return op.complete();
  turn_->cancels.push_back(op);
  if (turn_->interrupt_requested) return;  // one interrupt per turn is enough
  turn_->interrupt_requested = true;
  // A tool waiting for its permission would hold the turn open: deny it first.
  for (const object& line : permissions_.deny_all("cancelled")) write_line(line);
  // The cancel completes with the turn's result (handle_result); only a
  // refused interrupt fails it here.
  send_control(object{{"subtype", "interrupt"}},
               [this](const object* response, const std::string& error) {
                 if (response || !turn_) return;
                 auto cancels = std::move(turn_->cancels);
                 turn_->cancels.clear();
                 for (const auto& cancel : cancels) cancel.fail("claude: interrupt: " + error);
               });
}

void ClaudeBackend::answer_permission(sdk::Operation op, const sdk::PermissionAnswer& answer) {
  if (closed_) return op.fail(*closed_);
  auto reply = permissions_.answer(answer);
  if (auto* error = std::get_if<std::string>(&reply)) return op.fail(*error);
  write_line(std::get<object>(reply));
  op.complete();
}

}  // namespace avenor::claude
