#include "stable/spawn_request.hpp"

#include "control/rpc_error.hpp"
#include "control/rpc_params.hpp"
#include "permissions/permission_policy.hpp"
#include "util/json_text.hpp"

namespace avenor::host {

using boost::json::object;

// Absent or null → empty; the wrong type → -32602.
using rpc_params::opt_bool;
using rpc_params::opt_int;
using rpc_params::opt_string;

namespace {

// The permission params (new) as the child's flags take them; the policy is
// parsed here so a bad one fails the spawn, not the runtime.
void parse_permission_params(const object& p, SpawnRequest& r) {
  if (const auto* v = p.if_contains("permission_policy");
      v && !v->is_null() && !(v->is_string() && v->get_string().empty())) {
    try {
      const PermissionPolicy policy =
          v->is_string() ? load_permission_policy(v->get_string()) : parse_permission_policy(*v);
      r.permission_policy = to_compact_json(policy.to_json());
    } catch (const PolicyError& e) {
      throw RpcError::detail(std::string("permission_policy: ") + e.what());
    }
  }
  r.approve_reads = opt_bool(p, "approve_reads");
  r.deny_all = opt_bool(p, "deny_all");
  if (r.deny_all && r.auto_approve)
    throw RpcError::detail("deny_all and auto_approve are mutually exclusive");
  r.permission_timeout_seconds = opt_int(p, "permission_timeout").value_or(0);
  if (r.permission_timeout_seconds < 0)
    throw RpcError::detail("permission_timeout must be a non-negative number of seconds");
  r.permission_timeout_action = opt_string(p, "permission_timeout_action");
  if (!r.permission_timeout_action.empty() && !valid_timeout_action(r.permission_timeout_action))
    throw RpcError::detail("permission_timeout_action: \"" + r.permission_timeout_action +
                           "\" is not one of reject, cancel");
}

}  // namespace

SpawnRequest parse_spawn_request(const object& p) {
  SpawnRequest r;
  r.prompt = opt_string(p, "prompt");
  r.prompt_file = opt_string(p, "prompt_file");
  r.loop_file = opt_string(p, "loop_file");
  if (const auto* d = p.if_contains("dir"); d && !d->is_null()) r.dir = opt_string(p, "dir");
  r.agent = opt_string(p, "agent");
  r.model = opt_string(p, "model");
  r.thinking = opt_string(p, "thinking");
  r.backend = opt_string(p, "backend");
  r.agent_profile = opt_string(p, "agent_profile");
  r.label = opt_string(p, "label");
  r.server_url = opt_string(p, "server_url");
  r.on_event = opt_string(p, "on_event");
  r.sentinel_file = opt_string(p, "sentinel_file");
  r.permission_handler = opt_string(p, "permission_handler");
  r.auto_approve = opt_bool(p, "auto_approve");
  parse_permission_params(p, r);
  r.timeout_seconds = opt_int(p, "timeout").value_or(0);
  r.max_retries = opt_int(p, "max_retries").value_or(0);
  r.session_id = opt_string(p, "session_id");
  r.parent_id = opt_string(p, "parent_id");
  r.idempotency_key = opt_string(p, "idempotency_key");
  r.label_derived = opt_bool(p, "label_derived");
  r.runtime_id = opt_string(p, "runtime_id");
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
  add("permission-policy", r.permission_policy);
  if (r.approve_reads) argv.push_back("--approve-reads");
  if (r.deny_all) argv.push_back("--deny-all");
  if (r.permission_timeout_seconds > 0)
    add("permission-timeout", std::to_string(r.permission_timeout_seconds) + "s");
  add("permission-timeout-action", r.permission_timeout_action);
  if (r.timeout_seconds > 0) add("timeout", std::to_string(r.timeout_seconds) + "s");
  if (r.max_retries > 0) add("max-retries", std::to_string(r.max_retries));
  add("resume", r.session_id);
  if (c.parked_timeout) add("parked-timeout", *c.parked_timeout);
  return argv;
}

}  // namespace avenor::host
