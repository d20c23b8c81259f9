// The params of a supervisor `spawn` (control.md §10.4) and the `avenor run`
// command line they become (§10.1).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace avenor::host {

struct SpawnRequest {
  std::string prompt, prompt_file, loop_file;
  std::optional<std::string> dir;
  std::string agent, model, thinking, backend, agent_profile, label, server_url;
  std::string on_event, sentinel_file, permission_handler;
  bool auto_approve = false;
  // Permission policy (new): validated at spawn; the policy travels to the
  // child as compact JSON (or, when large, a file the supervisor wrote).
  std::string permission_policy;
  bool approve_reads = false, deny_all = false;
  std::int64_t permission_timeout_seconds = 0;
  std::string permission_timeout_action;  // empty: the child's default (reject)
  std::int64_t timeout_seconds = 0;
  std::int64_t max_retries = 0;
  std::string session_id, parent_id, idempotency_key;
  bool label_derived = false;
  std::string runtime_id;  // a caller's own runtime: becomes the parent when parent_id is absent
};

// Reads the params; a value of the wrong type is -32602 invalid params
// (RpcError), an invalid permission policy -32602 {detail}. Unknown keys are
// ignored. A `permission_policy` string naming a file is read here.
SpawnRequest parse_spawn_request(const boost::json::object& params);

// What the child `avenor run` is told beyond the spawn params.
struct RuntimeCommand {
  std::string executable;
  std::string run_id, runtime_id, control_socket, on_event, sentinel_file;
  std::string backend, server_url;
  std::optional<std::string> parked_timeout;  // Go duration text; direct runtimes only
};

std::vector<std::string> runtime_argv(const SpawnRequest& request, const RuntimeCommand& command);

}  // namespace avenor::host
