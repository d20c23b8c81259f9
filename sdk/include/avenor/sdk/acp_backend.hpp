// The Agent Client Protocol (ACP) client shared by opencode-acp, gemini-acp
// and cursor-acp (backends.md §1, §4, §5). The three differ only in what they
// launch and in two optional handshake steps, so a plugin is an AcpProfile plus
// this engine.
#pragma once

#include <avenor/sdk/acp_update_scanner.hpp>
#include <avenor/sdk/backend.hpp>
#include <avenor/sdk/event_text.hpp>
#include <avenor/sdk/frame_reader.hpp>
#include <avenor/sdk/json.hpp>
#include <avenor/sdk/jsonrpc_peer.hpp>
#include <avenor/sdk/option_kinds.hpp>
#include <avenor/sdk/session_dir.hpp>
#include <avenor/sdk/start_once.hpp>
#include <avenor/sdk/utf8_cut.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::sdk {

// What distinguishes one ACP agent from another.
struct AcpProfile {
  // An argv element equal to this is replaced by the absolute session directory.
  static constexpr std::string_view kDirToken = "{dir}";

  std::vector<std::string> argv;
  // authenticate {methodId} after initialize; empty: no authenticate step.
  std::string authenticate_method;
  // After session/new: session/set_config_option {configId:"model"} when a
  // model is given, then session/set_mode {modeId: <agent>} when an agent is.
  bool configure_model = false;
  bool configure_mode = false;
};

namespace acp {

// ACP usage (camelCase, or snake_case from some agents) in avenor's shape.
// A missing total is the sum of its parts; other missing counts are 0.
inline boost::json::object normalize_usage(const boost::json::object& usage) {
  auto pick = [&](std::string_view camel, std::string_view snake) {
    if (auto v = json::find_int(usage, camel)) return v;
    return json::find_int(usage, snake);
  };
  std::int64_t input = pick("inputTokens", "input_tokens").value_or(0);
  std::int64_t output = pick("outputTokens", "output_tokens").value_or(0);
  std::int64_t total = pick("totalTokens", "total_tokens").value_or(input + output);
  std::int64_t cached = pick("cachedReadTokens", "cached_read_tokens").value_or(0);
  return {{"input_tokens", input},
          {"output_tokens", output},
          {"total_tokens", total},
          {"cached_read_tokens", cached}};
}

// The event a session/update kind becomes, or nullopt for kinds avenor drops.
inline std::optional<std::string_view> event_for_update(std::string_view kind) {
  if (kind == "agent_message_chunk") return "agent.message_chunk";
  if (kind == "agent_thought_chunk") return "agent.thought_chunk";
  if (kind == "tool_call") return "tool.call";
  if (kind == "tool_call_update") return "tool.call_update";
  if (kind == "user_message_chunk") return "user.message_chunk";
  if (kind == "plan") return "session.plan";
  return std::nullopt;
}

}  // namespace acp

class AcpBackend : public Backend {
 public:
  AcpBackend(Host host, StartOptions options, AcpProfile profile)
      : Backend(host, std::move(options)),
        profile_(std::move(profile)),
        dir_(absolute_dir(this->options().dir)),
        rpc_([this](std::string_view bytes) { this->host().write(bytes); }) {
    rpc_.on_notification(
        "session/update",
        [this](std::string_view, const boost::json::value& params) { on_session_update(params); });
    rpc_.on_request(
        "session/request_permission",
        [this](const boost::json::value& id, std::string_view, const boost::json::value& params) {
          on_permission_request(id, params);
        });
    // The client advertises no fs/terminal capability, so anything else the
    // agent asks (fs/*, terminal/*, extensions) is refused, not ignored.
    rpc_.on_any_request(
        [this](const boost::json::value& id, std::string_view, const boost::json::value&) {
          rpc_.respond_error(id, rpc_code::method_not_found, "method not implemented by avenor");
        });
    rpc_.on_warning([this](std::string_view text) { this->host().log(LogLevel::warn, text); });
  }

  // The absolute session directory.
  const std::string& dir() const { return dir_; }

  LaunchSpec launch() override {
    LaunchSpec spec;
    for (const std::string& arg : profile_.argv)
      spec.argv.push_back(arg == AcpProfile::kDirToken ? dir_ : arg);
    return spec;
  }

  void on_bytes(std::string_view bytes) override {
    if (broken_ || closed_) return;
    reader_.feed(bytes, [this](std::string_view frame) {
      if (broken_) return;
      if (updates_.scan(frame, event_)) {  // the common session/update, without a DOM
        host().emit(event_);
        return;
      }
      if (auto error = rpc_.receive(frame)) {
        // The stream can't be resynchronized: stop reading and let the host
        // kill the child; on_closed then fails whatever is pending.
        broken_ = true;
        host().fatal("acp: undecodable frame: " + *error + ": " + excerpt(frame));
      }
    });
  }

  void on_closed(std::string_view reason) override {
    if (closed_) return;
    closed_ = reason.empty() ? std::string("acp client exited")
                             : "acp client exited: " + std::string(reason);
    permissions_.clear();
    rpc_.fail_all(*closed_);  // each callback fails its operation with this text
  }

  void start_session(Operation op, std::optional<std::string> resume_session_id) override {
    if (!options().server_url.empty())
      return op.fail("external server URL transport is not implemented by the stdio client");
    if (closed_) return op.fail(*closed_);
    // Resuming a session this process already holds costs nothing: interrupts
    // and queued prompts come back to the same provider instance.
    if (resume_session_id && sessions_.contains(*resume_session_id))
      return op.complete(boost::json::object{{"session_id", *resume_session_id}});
    after_handshake(
        [this, op, resume = std::move(resume_session_id)](const std::optional<std::string>& error) {
          if (error) return op.fail(*error);
          if (resume) return resume_session(op, *resume);
          new_session(op);
        });
  }

  void prompt(Operation op, const std::string& session_id, const std::string& text) override {
    if (closed_) return op.fail(*closed_);
    boost::json::object params{
        {"sessionId", session_id},
        {"prompt", boost::json::array{boost::json::object{{"type", "text"}, {"text", text}}}}};
    rpc_.request("session/prompt", std::move(params), [this, op, session_id](RpcOutcome r) {
      if (!r.ok()) return op.fail(r.error->message);
      finish_turn(op, session_id, r.result);
    });
  }

  void cancel(Operation op, const std::string& session_id) override {
    if (closed_) return op.fail(*closed_);
    rpc_.notify("session/cancel", boost::json::object{{"sessionId", session_id}});
    // A turn blocked on a permission can't end until that request is answered.
    for (auto it = permissions_.begin(); it != permissions_.end();) {
      if (it->second.session_id == session_id) {
        rpc_.respond(it->second.id, cancelled_outcome());
        it = permissions_.erase(it);
      } else {
        ++it;
      }
    }
    op.complete();
  }

  void answer_permission(Operation op, const PermissionAnswer& answer) override {
    if (closed_) return op.fail(*closed_);
    auto it = permissions_.find(answer.request_id);
    if (it == permissions_.end() ||
        (!answer.session_id.empty() && answer.session_id != it->second.session_id))
      return op.fail("unknown permission request_id: " + answer.request_id);
    const PendingPermission& pending = it->second;

    if (answer.cancelled) {
      rpc_.respond(pending.id, cancelled_outcome());
      permissions_.erase(it);
      return op.complete();
    }
    Choice choice = choose_option(pending, answer);
    if (!choice) return op.fail(choice.error);
    boost::json::object outcome{{"outcome", "selected"}, {"optionId", choice.option_id}};
    if (!answer.message.empty()) outcome["message"] = answer.message;
    rpc_.respond(pending.id, boost::json::object{{"outcome", std::move(outcome)}});
    permissions_.erase(it);
    op.complete();
  }

 private:
  // An agent→client session/request_permission still waiting for an answer.
  struct PendingPermission {
    boost::json::value id;  // the JSON-RPC id exactly as received
    std::string session_id;
    boost::json::object params;  // the raw request; its options validate answers
  };

  // An option id, or why none fits.
  struct Choice {
    std::string option_id, error;
    explicit operator bool() const { return error.empty(); }
  };

  // --- handshake ------------------------------------------------------------

  // Runs `next` once initialize (and authenticate) finished, starting them on
  // first use; every start_session after the first shares the same handshake.
  void after_handshake(StartOnce::Waiter next) {
    handshake_.after(std::move(next), [this] { start_handshake(); });
  }

  void start_handshake() {
    boost::json::object params{
        {"protocolVersion", 1},
        {"clientCapabilities",
         {{"fs", {{"readTextFile", false}, {"writeTextFile", false}}}, {"terminal", false}}},
        {"clientInfo", {{"name", "avenor"}, {"version", "0.0.1"}}}};
    // The result is not checked: agents differ in what they report, and a
    // missing capability shows up later as an error on the request that needs it.
    rpc_.request("initialize", std::move(params), [this](RpcOutcome r) {
      if (!r.ok()) return finish_handshake(error_text("initialize", *r.error));
      if (profile_.authenticate_method.empty()) return finish_handshake(std::nullopt);
      rpc_.request("authenticate", boost::json::object{{"methodId", profile_.authenticate_method}},
                   [this](RpcOutcome a) {
                     if (!a.ok()) return finish_handshake(error_text("authenticate", *a.error));
                     finish_handshake(std::nullopt);
                   });
    });
  }

  void finish_handshake(std::optional<std::string> error) { handshake_.finish(std::move(error)); }

  // --- sessions -------------------------------------------------------------

  void new_session(const Operation& op) {
    boost::json::object params{{"cwd", dir_}, {"mcpServers", boost::json::array{}}};
    rpc_.request("session/new", std::move(params), [this, op](RpcOutcome r) {
      if (!r.ok()) return op.fail(error_text("session/new", *r.error));
      const boost::json::object* result = r.result.if_object();
      auto session_id = result ? json::find_string(*result, "sessionId") : std::nullopt;
      if (!session_id || session_id->empty())
        return op.fail("session/new response missing sessionId");
      configure_model(op, *session_id);
    });
  }

  // Resume re-applies only the provider's base options, which carry no model
  // or mode, so nothing is configured afterwards.
  void resume_session(const Operation& op, const std::string& session_id) {
    boost::json::object params{
        {"cwd", dir_}, {"mcpServers", boost::json::array{}}, {"sessionId", session_id}};
    rpc_.request("session/resume", std::move(params), [this, op, session_id](RpcOutcome r) {
      if (!r.ok()) return op.fail(error_text("session/resume", *r.error));
      session_ready(op, session_id);
    });
  }

  void configure_model(const Operation& op, const std::string& session_id) {
    if (!profile_.configure_model || options().model.empty()) return configure_mode(op, session_id);
    boost::json::object params{
        {"sessionId", session_id}, {"configId", "model"}, {"value", options().model}};
    rpc_.request("session/set_config_option", std::move(params),
                 [this, op, session_id](RpcOutcome r) {
                   if (!r.ok()) return op.fail(error_text("session/set_config_option", *r.error));
                   configure_mode(op, session_id);
                 });
  }

  void configure_mode(const Operation& op, const std::string& session_id) {
    if (!profile_.configure_mode || options().agent.empty()) return session_ready(op, session_id);
    boost::json::object params{{"sessionId", session_id}, {"modeId", options().agent}};
    rpc_.request("session/set_mode", std::move(params), [this, op, session_id](RpcOutcome r) {
      if (!r.ok()) return op.fail(error_text("session/set_mode", *r.error));
      session_ready(op, session_id);
    });
  }

  void session_ready(const Operation& op, const std::string& session_id) {
    sessions_.insert(session_id);
    op.complete(boost::json::object{{"session_id", session_id}});
  }

  // --- turns ----------------------------------------------------------------

  void finish_turn(const Operation& op, const std::string& session_id,
                   const boost::json::value& value) {
    const boost::json::object* result = value.if_object();
    std::optional<std::string> stop;
    if (result) {
      stop = json::find_string(*result, "stopReason");
      if (!stop) stop = json::find_string(*result, "stop_reason");
    }
    if (!stop) return op.fail("session/prompt response missing stopReason");

    boost::json::object event{
        {"event", "session.end"}, {"session_id", session_id}, {"stop_reason", *stop}};
    if (const boost::json::object* usage = json::find_object(*result, "usage"))
      event["usage"] = acp::normalize_usage(*usage);
    for (const auto& [key, field] : *result) {
      if (key != "stopReason" && key != "stop_reason" && key != "usage") event.emplace(key, field);
    }
    // The turn is over: its unanswered permission requests are moot.
    std::erase_if(permissions_, [&](const auto& p) { return p.second.session_id == session_id; });
    host().emit(event);
    op.complete();
  }

  // The hot path of a turn: each update is serialised straight from the
  // parsed frame into the event's bytes, with no intermediate object.
  void on_session_update(const boost::json::value& value) {
    const boost::json::object* params = value.if_object();
    const boost::json::object* update = params ? json::find_object(*params, "update") : nullptr;
    const boost::json::value* kind = update ? json::find(*update, "sessionUpdate") : nullptr;
    if (!kind || !kind->is_string()) return;
    auto name = acp::event_for_update(kind->get_string());
    if (!name) return;
    const boost::json::value* session = json::find(*params, "sessionId");
    event_.begin(*name);
    event_.add("session_id", session && session->is_string()
                                 ? std::string_view(session->get_string())
                                 : std::string_view());
    event_.add("session_update", std::string_view(kind->get_string()));
    // add() never overwrites, so an update field can't shadow these; the
    // envelope keys are the host's and never copied.
    event_.add_all(*update, "sessionUpdate");
    host().emit(event_);
  }

  // --- permissions ----------------------------------------------------------

  void on_permission_request(const boost::json::value& id, const boost::json::value& value) {
    const boost::json::object* params = value.if_object();
    if (!params) {
      rpc_.respond_error(id, rpc_code::invalid_params,
                         "session/request_permission params must be an object");
      return;
    }
    std::string request_id = rpc_id_to_string(id);
    std::string session_id = json::string_or(*params, "sessionId");
    boost::json::object event{
        {"event", "permission.request"}, {"session_id", session_id}, {"request_id", request_id}};
    for (const auto& [key, field] : *params) {
      if (key != "sessionId") event.emplace(key, field);
    }
    permissions_.insert_or_assign(request_id, PendingPermission{id, session_id, *params});
    host().emit(event);
  }

  // backends.md §0.4: the caller's option when named (it must exist and be of
  // the wanted kind), else the first option of the wanted kind.
  static Choice choose_option(const PendingPermission& pending, const PermissionAnswer& answer) {
    OptionKind wanted = answer.allow ? OptionKind::allow : OptionKind::reject;
    const boost::json::array none;
    const boost::json::array* found = json::find_array(pending.params, "options");
    const boost::json::array& options = found ? *found : none;
    auto kind_of = [](const boost::json::object& o) {
      return normalize_option_kind(json::string_or(o, "kind"));
    };
    if (!answer.option_id.empty()) {
      for (const boost::json::value& v : options) {
        const boost::json::object* o = v.if_object();
        if (!o || json::string_or(*o, "optionId") != answer.option_id) continue;
        if (kind_of(*o) != wanted)
          return {{},
                  "permission option " + answer.option_id + " is of kind " +
                      std::string(to_string(kind_of(*o))) + ", not " +
                      std::string(to_string(wanted))};
        return {answer.option_id, {}};
      }
      return {{}, "permission option not found: " + answer.option_id};
    }
    for (const boost::json::value& v : options) {
      const boost::json::object* o = v.if_object();
      if (o && kind_of(*o) == wanted) {
        if (auto option_id = json::find_string(*o, "optionId")) return {*option_id, {}};
      }
    }
    return {{}, "permission request has no " + std::string(to_string(wanted)) + " option"};
  }

  static boost::json::object cancelled_outcome() {
    return {{"outcome", {{"outcome", "cancelled"}}}};
  }

  // --- helpers --------------------------------------------------------------

  // A handshake or setup error names its method; a transport failure already
  // reads "acp client exited: ..." and is passed on verbatim.
  static std::string error_text(std::string_view method, const RpcError& error) {
    if (error.code == rpc_code::transport_closed) return error.message;
    std::string text = std::string(method) + ": " + error.message;
    // Agents put the useful part of a generic "Internal error" in data.details.
    if (const auto* data = error.data.if_object())
      if (auto details = json::find_string(*data, "details"); details && !details->empty())
        text += " (" + *details + ")";
    return text;
  }

  AcpProfile profile_;
  std::string dir_;
  FrameReader reader_;
  JsonRpcPeer rpc_;
  acp::UpdateScanner updates_{&acp::event_for_update};
  EventText event_;  // reused for every session/update

  StartOnce handshake_;

  std::set<std::string, std::less<>> sessions_;           // created or resumed here
  std::map<std::string, PendingPermission> permissions_;  // by request_id (id as text)
  std::optional<std::string> closed_;  // the failure text once the transport is gone
  bool broken_ = false;                // an undecodable frame was reported
};

}  // namespace avenor::sdk
