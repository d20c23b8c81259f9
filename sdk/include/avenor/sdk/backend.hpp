// The class a plugin author derives from: one instance per attempt, driving
// one backend connection. The host calls these on its event-loop thread.
#pragma once

#include <avenor/sdk/host.hpp>
#include <avenor/sdk/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace avenor::sdk {

// Start options (backends.md §0.1), as the host passes them to create().
struct StartOptions {
  std::string agent, label, dir, server_url, model, agent_profile, runtime_id, thinking;
  // The avenor executable's absolute path, for backends that make the agent
  // start avenor again (e.g. an MCP sidecar command). Since ABI 1.1.
  std::string host_executable;
  // The session the first start_session will resume ("" for a new one), for
  // backends whose CLI names its session on the command line (claude).
  std::string resume_session_id;

  static StartOptions from_json(const boost::json::object& o) {
    StartOptions s;
    s.agent = json::string_or(o, "agent");
    s.label = json::string_or(o, "label");
    s.dir = json::string_or(o, "dir");
    s.server_url = json::string_or(o, "server_url");
    s.model = json::string_or(o, "model");
    s.agent_profile = json::string_or(o, "agent_profile");
    s.runtime_id = json::string_or(o, "runtime_id");
    s.thinking = json::string_or(o, "thinking");
    s.host_executable = json::string_or(o, "host_executable");
    s.resume_session_id = json::string_or(o, "resume_session_id");
    return s;
  }
  boost::json::object to_json() const {
    return {{"agent", agent},
            {"label", label},
            {"dir", dir},
            {"server_url", server_url},
            {"model", model},
            {"agent_profile", agent_profile},
            {"runtime_id", runtime_id},
            {"thinking", thinking},
            {"host_executable", host_executable},
            {"resume_session_id", resume_session_id}};
  }
};

// What the host launches for this instance.
struct LaunchSpec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // set or override
  std::vector<std::string> unset_env;      // remove from the inherited environment
  std::string cwd;                         // empty: inherit the host's
  // At close, how long the host waits for an exit after closing stdin before
  // SIGTERM (for agents that save state on a clean EOF exit). Since ABI 1.1.
  std::chrono::milliseconds eof_grace{0};

  boost::json::object to_json() const {
    boost::json::array a(argv.begin(), argv.end());
    boost::json::object e;
    for (const auto& [k, v] : env) e[k] = v;
    boost::json::array u(unset_env.begin(), unset_env.end());
    return {{"argv", std::move(a)},
            {"env", std::move(e)},
            {"unset_env", std::move(u)},
            {"cwd", cwd},
            {"eof_grace_ms", eof_grace.count()}};
  }
};

// A permission decision relayed from the host (backends.md §0.4).
struct PermissionAnswer {
  std::string session_id, request_id, option_id, message;
  bool allow = false;
  bool cancelled = false;

  static PermissionAnswer from_json(const boost::json::object& o) {
    PermissionAnswer a;
    a.session_id = json::string_or(o, "session_id");
    a.request_id = json::string_or(o, "request_id");
    a.option_id = json::string_or(o, "option_id");
    a.message = json::string_or(o, "message");
    a.allow = json::bool_or(o, "allow");
    a.cancelled = json::bool_or(o, "cancelled");
    return a;
  }
  boost::json::object to_json() const {
    return {{"session_id", session_id}, {"request_id", request_id}, {"option_id", option_id},
            {"message", message},       {"allow", allow},           {"cancelled", cancelled}};
  }
};

class Backend {
 public:
  Backend(Host host, StartOptions options) : host_(host), options_(std::move(options)) {}
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual LaunchSpec launch() = 0;
  virtual void on_bytes(std::string_view bytes) = 0;
  virtual void on_closed(std::string_view reason) = 0;
  virtual void on_timer(std::uint64_t /*timer_id*/) {}

  virtual void start_session(Operation op, std::optional<std::string> resume_session_id) = 0;
  virtual void prompt(Operation op, const std::string& session_id, const std::string& text) = 0;
  virtual void cancel(Operation op, const std::string& session_id) = 0;
  virtual void answer_permission(Operation op, const PermissionAnswer& answer) = 0;

 protected:
  const Host& host() const { return host_; }
  Services services() const { return host_.services(); }
  const StartOptions& options() const { return options_; }

 private:
  Host host_;
  StartOptions options_;
};

}  // namespace avenor::sdk
