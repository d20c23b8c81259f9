#include "stable/spawn_request.hpp"

#include "control/rpc_error.hpp"

namespace avenor::host {

using boost::json::object;

namespace {

std::string text(const object& p, const char* key) {
  const auto* v = p.if_contains(key);
  if (!v || v->is_null()) return {};
  if (!v->is_string()) throw RpcError::invalid_params();
  return std::string(v->get_string());
}

bool flag(const object& p, const char* key) {
  const auto* v = p.if_contains(key);
  if (!v || v->is_null()) return false;
  if (!v->is_bool()) throw RpcError::invalid_params();
  return v->get_bool();
}

std::int64_t integer(const object& p, const char* key) {
  const auto* v = p.if_contains(key);
  if (!v || v->is_null()) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double() &&
      v->get_double() == static_cast<double>(static_cast<std::int64_t>(v->get_double())))
    return static_cast<std::int64_t>(v->get_double());
  throw RpcError::invalid_params();
}

}  // namespace

SpawnRequest parse_spawn_request(const object& p) {
  SpawnRequest r;
  r.prompt = text(p, "prompt");
  r.prompt_file = text(p, "prompt_file");
  r.loop_file = text(p, "loop_file");
  if (const auto* d = p.if_contains("dir"); d && !d->is_null()) r.dir = text(p, "dir");
  r.agent = text(p, "agent");
  r.model = text(p, "model");
  r.thinking = text(p, "thinking");
  r.backend = text(p, "backend");
  r.agent_profile = text(p, "agent_profile");
  r.label = text(p, "label");
  r.server_url = text(p, "server_url");
  r.on_event = text(p, "on_event");
  r.sentinel_file = text(p, "sentinel_file");
  r.permission_handler = text(p, "permission_handler");
  r.auto_approve = flag(p, "auto_approve");
  r.timeout_seconds = integer(p, "timeout");
  r.max_retries = integer(p, "max_retries");
  r.session_id = text(p, "session_id");
  r.parent_id = text(p, "parent_id");
  r.idempotency_key = text(p, "idempotency_key");
  r.label_derived = flag(p, "label_derived");
  r.runtime_id = text(p, "runtime_id");
  if (r.timeout_seconds < 0 || r.max_retries < 0) throw RpcError::invalid_params();
  return r;
}

std::vector<std::string> runtime_argv(const SpawnRequest& r, const RuntimeCommand& c) {
  // --name=value, so a value that starts with '-' stays a value.
  std::vector<std::string> argv{c.executable, "run"};
  auto add = [&](const char* name, const std::string& value) {
    if (!value.empty()) argv.push_back(std::string("--") + name + "=" + value);
  };
  add("run-id", c.run_id);
  add("runtime-id", c.runtime_id);
  add("control-socket", c.control_socket);
  add("on-event", c.on_event);
  add("sentinel-file", c.sentinel_file);
  add("permission-claim-timeout", "0");
  add("prompt", r.prompt);
  add("prompt-file", r.prompt_file);
  add("loop-file", r.loop_file);
  add("dir", r.dir.value_or("."));
  add("agent", r.agent);
  add("model", r.model);
  add("thinking", r.thinking);
  add("backend", c.backend);
  add("agent-profile", r.agent_profile);
  add("label", r.label);
  add("server-url", c.server_url);
  add("permission-handler", r.permission_handler);
  if (r.auto_approve) argv.push_back("--auto-approve");
  if (r.timeout_seconds > 0) add("timeout", std::to_string(r.timeout_seconds) + "s");
  if (r.max_retries > 0) add("max-retries", std::to_string(r.max_retries));
  add("resume", r.session_id);
  if (c.parked_timeout) add("parked-timeout", *c.parked_timeout);
  return argv;
}

}  // namespace avenor::host
