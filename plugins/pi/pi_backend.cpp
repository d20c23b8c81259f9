#include "pi_backend.hpp"

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/utf8_cut.hpp>

#include "event_mapper.hpp"
#include "launch.hpp"
#include "thinking_support.hpp"

namespace avenor::pi {

namespace json = sdk::json;
using boost::json::object;

namespace {}  // namespace

std::string session_id_from_state(const object& response) {
  const object* data = json::find_object(response, "data");
  if (data)
    if (auto id = json::find_string(*data, "sessionId"); id && !id->empty()) return *id;
  if (auto id = json::find_string(response, "sessionId"); id && !id->empty()) return *id;
  for (const object* holder : {&response, data}) {
    if (!holder) continue;
    if (const object* state = json::find_object(*holder, "state"))
      if (auto id = json::find_string(*state, "sessionId"); id && !id->empty()) return *id;
  }
  return {};
}

PiBackend::PiBackend(sdk::Host host, sdk::StartOptions options, CommandIds ids)
    : Backend(host, std::move(options)), ids_(std::move(ids)) {}

sdk::LaunchSpec PiBackend::launch() { return launch_spec(options()); }

// --- transport ---------------------------------------------------------------

void PiBackend::on_bytes(std::string_view bytes) {
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

void PiBackend::on_closed(std::string_view reason) {
  if (closed_) return;
  closed_ = reason.empty() ? std::string("pi exited") : "pi exited: " + std::string(reason);
  dialogs_.clear();
  pending_.fail_all(*closed_);  // a waiting prompt fails its turn from here
  if (turn_) fail_turn(*closed_);
}

std::string PiBackend::send(object command, PendingCommands::Handler on_response) {
  std::string id = ids_.next();
  command["id"] = id;
  pending_.add(id, std::move(on_response));
  write_line(command);
  return id;
}

void PiBackend::write_line(const object& message) { host().write(json::dump(message) + "\n"); }

void PiBackend::handle_line(const std::string& line) {
  const std::optional<object> message = lines_.object_of(line, host());
  if (!message) return;
  const std::string type = json::string_or(*message, "type");
  if (type == "response") return handle_response(*message);
  if (type == "extension_ui_request") return handle_ui_request(*message);
  if (type == "agent_end") return handle_agent_end(*message);
  handle_event(*message);
}

void PiBackend::handle_response(const object& response) {
  CommandResult result;
  result.success = json::bool_or(response, "success");
  result.error = json::string_or(response, "error");
  result.response = response;
  const std::string id = json::string_or(response, "id");
  if (pending_.resolve(id, result)) return;
  host().log(sdk::LogLevel::warn, "pi: response to no waiting command (id \"" + id +
                                      "\", command \"" + json::string_or(response, "command") +
                                      "\")" + (result.error.empty() ? "" : ": " + result.error));
}

// --- sessions ----------------------------------------------------------------

void PiBackend::start_session(sdk::Operation op, std::optional<std::string> resume_session_id) {
  if (!options().server_url.empty())
    return op.fail("external server URL transport is not implemented by the stdio client");
  if (closed_) return op.fail(*closed_);
  if (session_id_) {
    // The one session this process holds: resuming it is free, apart from
    // re-applying thinking; any other session needs another pi process.
    if (!resume_session_id || *resume_session_id != *session_id_)
      return op.fail("pi: this pi process already holds session " + *session_id_ +
                     "; one session per process");
    if (options().thinking.empty()) return op.complete(object{{"session_id", *session_id_}});
    object command{{"type", "set_thinking_level"},
                   {"level", pi_thinking_level(options().thinking)}};
    send(std::move(command), [this, op](const CommandResult& r) {
      if (!r.success) return op.fail("pi: set_thinking_level: " + r.error);
      op.complete(object{{"session_id", sid()}});
    });
    return;
  }
  if (starting_) return op.fail("pi: a session is already being started");
  begin_session(op, std::move(resume_session_id));
}

void PiBackend::begin_session(const sdk::Operation& op, std::optional<std::string> resume) {
  starting_ = true;
  // get_state and (with thinking) `pi --help` run side by side; the start
  // completes when both have answered, and fails with the first error.
  struct Join {
    int waiting = 1;
    std::optional<std::string> error;
    std::string session_id;
  };
  auto join = std::make_shared<Join>();
  auto finish = [this, op, join] {
    if (--join->waiting > 0) return;
    starting_ = false;
    if (join->error) return op.fail(*join->error);
    session_id_ = join->session_id;
    op.complete(object{{"session_id", join->session_id}});
  };

  if (!options().thinking.empty()) {
    if (services().available()) {
      ++join->waiting;
      services().run_process(help_request(launch()),
                             [join, finish](sdk::Outcome<sdk::ProcessResult> help) {
                               if (auto error = thinking_support_error(help); error && !join->error)
                                 join->error = std::move(error);
                               finish();
                             });
    } else {
      host().log(sdk::LogLevel::warn,
                 "pi: this avenor host runs no commands for plugins (ABI 1.0); "
                 "--thinking is passed to pi unchecked");
    }
  }

  auto command_id = std::make_shared<std::string>();
  *command_id = send(object{{"type", "get_state"}}, [this, resume, command_id, join,
                                                     finish](const CommandResult& r) {
    if (!r.success) {
      if (!join->error) join->error = "pi: get_state: " + r.error;
    } else if (resume) {
      // pi runs with --no-session, so nothing on disk could be reloaded: the
      // id is adopted and the conversation starts empty.
      join->session_id = *resume;
      host().log(sdk::LogLevel::info, "pi: resuming session " + *resume +
                                          " in a new pi process; pi does not reload its history");
    } else {
      join->session_id = session_id_from_state(r.response);
      if (join->session_id.empty()) join->session_id = "pi-" + *command_id;
    }
    finish();
  });
}

// --- turns -------------------------------------------------------------------

void PiBackend::prompt(sdk::Operation op, const std::string& session_id, const std::string& text) {
  if (closed_) return op.fail(*closed_);
  if (!session_id_ || session_id != *session_id_)
    return op.fail("pi: unknown session " + session_id);
  if (turn_) return op.fail("pi: a turn is already running in session " + session_id);
  const unsigned generation = ++generation_;
  turn_ = Turn{op, generation, false, std::nullopt};
  gate_.reset();
  send(object{{"type", "prompt"}, {"message", text}}, [this, generation](const CommandResult& r) {
    if (!turn_ || turn_->generation != generation) return;
    if (!r.success) return fail_turn(r.error.empty() ? "pi rejected the prompt" : r.error);
    turn_->accepted = true;
    settle_turn();
  });
}

void PiBackend::handle_agent_end(const object& event) {
  AgentEnd end = AgentEnd::from_event(event);
  if (!turn_) return emit_agent_end(end);  // not ours to end (an extension's own run)
  act(gate_.on_agent_end(std::move(end)));
}

void PiBackend::act(TurnEndGate::Action action) {
  using Kind = TurnEndGate::Action::Kind;
  switch (action.kind) {
    case Kind::none:
      return;
    case Kind::retrying:
      return emit_agent_end(action.end);
    case Kind::finish:
      return end_turn(action.end);
    case Kind::probe: {
      const unsigned generation = turn_ ? turn_->generation : 0;
      send(object{{"type", "get_state"}}, [this, generation](const CommandResult&) {
        if (!turn_ || turn_->generation != generation) return;
        act(gate_.on_probe_answered());
      });
      return;
    }
  }
}

void PiBackend::emit_agent_end(const AgentEnd& end) {
  object e{{"event", "avenor.agent_end"},
           {"session_id", sid()},
           {"willRetry", end.will_retry},
           {"stop_reason", end.stop_reason}};
  if (!end.error_message.empty()) e["error_message"] = end.error_message;
  host().emit(e);
}

void PiBackend::end_turn(const AgentEnd& end) {
  if (!turn_ || turn_->ended) return emit_agent_end(end);
  host().emit(session_end_event(end, sid()));
  turn_->ended = end;
  settle_turn();
}

void PiBackend::settle_turn() {
  if (!turn_ || !turn_->accepted || !turn_->ended) return;
  Turn turn = std::move(*turn_);
  turn_.reset();
  switch (turn_result(turn.ended->stop_reason)) {
    case TurnResult::success:
      return turn.op.complete();
    case TurnResult::cancelled:
      return turn.op.fail("pi: the turn was cancelled", AVENOR_FAILURE_CANCELLED);
    case TurnResult::error:
      return turn.op.fail(turn.ended->error_message.empty() ? "pi: the turn ended with an error"
                                                            : turn.ended->error_message);
  }
}

void PiBackend::fail_turn(const std::string& message) {
  if (!turn_) return;
  Turn turn = std::move(*turn_);
  turn_.reset();
  turn.op.fail(message);
}

void PiBackend::cancel(sdk::Operation op, const std::string& session_id) {
  if (closed_) return op.fail(*closed_);
  if (turn_) gate_.on_abort_requested();
  const unsigned generation = turn_ ? turn_->generation : 0;
  send(object{{"type", "abort"}}, [this, op, generation](const CommandResult& r) {
    if (!r.success) return op.fail("pi: abort: " + r.error);
    if (turn_ && turn_->generation == generation) act(gate_.on_abort_answered());
    op.complete();
  });
  // pi answers the abort only once the agent is idle, and an extension
  // waiting on a dialog keeps it busy: dismiss them after the abort is sent.
  cancel_dialogs(session_id);
}

// --- events ------------------------------------------------------------------

void PiBackend::handle_event(const object& event) {
  const std::string type = json::string_or(event, "type");
  track_tool(event, type);
  TurnEndGate::Action action;
  if (turn_) action = gate_.on_event(type, event);
  // The agent_end being judged precedes the event that decided it.
  if (action.kind == TurnEndGate::Action::Kind::retrying) {
    act(std::move(action));
    action = {};
  }
  for (const object& e : map_event(event, sid())) host().emit(e);
  act(std::move(action));
}

void PiBackend::track_tool(const object& event, std::string_view type) {
  const std::string id = json::string_or(event, "toolCallId");
  if (type == "tool_execution_start") {
    ToolContext tool{json::string_or(event, "toolName"), nullptr};
    if (const auto* args = event.if_contains("args")) tool.args = *args;
    running_.emplace_back(id, std::move(tool));
  } else if (type == "tool_execution_end") {
    std::erase_if(running_, [&](const auto& entry) { return entry.first == id; });
  }
}

// --- dialogs -----------------------------------------------------------------

void PiBackend::handle_ui_request(const object& request) {
  const std::string method = json::string_or(request, "method");
  switch (classify_ui_method(method)) {
    case UiMethodKind::fire_and_forget:
      return;  // notify, setStatus, …: nothing waits for them
    case UiMethodKind::unknown:
      host().emit(passthrough_event("avenor.extension_ui_request", request, sid()));
      return;
    case UiMethodKind::dialog:
      break;
  }
  const ToolContext* tool = running_.empty() ? nullptr : &running_.back().second;
  auto made = dialog_request(request, sid(), tool);
  if (!made) {
    host().log(sdk::LogLevel::warn, "pi: extension_ui_request " + method + " without an id");
    return;
  }
  dialogs_.insert_or_assign(made->dialog.id, made->dialog);
  host().emit(made->event);
}

void PiBackend::answer_permission(sdk::Operation op, const sdk::PermissionAnswer& answer) {
  if (closed_) return op.fail(*closed_);
  auto it = dialogs_.find(answer.request_id);
  if (it == dialogs_.end() ||
      (!answer.session_id.empty() && answer.session_id != it->second.session_id))
    return op.fail("unknown permission request_id: " + answer.request_id);
  DialogAnswer reply = dialog_response(it->second, answer);
  if (!reply.response) return op.fail(reply.error);
  write_line(*reply.response);
  dialogs_.erase(it);
  op.complete();
}

void PiBackend::cancel_dialogs(const std::string& session_id) {
  for (auto it = dialogs_.begin(); it != dialogs_.end();) {
    if (session_id.empty() || it->second.session_id == session_id) {
      write_line(cancelled_response(it->second));
      it = dialogs_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace avenor::pi
