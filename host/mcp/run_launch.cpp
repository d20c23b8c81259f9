#include "mcp/run_launch.hpp"

#include <boost/json.hpp>

#include "util/random_hex.hpp"

namespace avenor::host::mcp {

namespace asio = boost::asio;
namespace bj = boost::json;

namespace {

void put(bj::object& o, std::string_view key, const std::string& value) {
  if (!value.empty()) o[key] = value;
}

std::string string_at(const bj::value& v, std::string_view key) {
  const bj::object* o = v.if_object();
  const bj::value* s = o != nullptr ? o->if_contains(key) : nullptr;
  return (s != nullptr && s->is_string()) ? std::string(s->get_string()) : std::string();
}

}  // namespace

asio::awaitable<RunRecord*> launch_run(ToolRunner& tools, LaunchRequest request) {
  RunRecord run = std::move(request.run);
  run.run_id = random_uuid_v4();
  if (run.label.empty()) run.label = run.run_id;
  run.supervisor_id = tools.hub().resolve(run.supervisor_id);
  const auto tmp = tools.settings().tmp_dir;
  run.sentinel_file = (tmp / ("avenor-run-" + run.run_id + ".done")).string();
  run.event_path = (tmp / ("avenor-run-" + run.run_id + ".log")).string();
  run.owns_files = true;

  bj::object params;
  put(params, "prompt", request.prompt);
  put(params, "prompt_file", request.prompt_file);
  params["dir"] = run.repo_dir;
  put(params, "agent", run.agent);
  put(params, "model", run.model);
  put(params, "thinking", run.thinking);
  put(params, "backend", run.backend);
  put(params, "server_url", run.server_url);
  params["label"] = run.label;
  params["on_event"] = run.event_path;
  params["sentinel_file"] = run.sentinel_file;
  if (run.auto_approve) params["auto_approve"] = true;
  const PermissionSettings& perm = run.permissions;
  if (perm.policy) params["permission_policy"] = *perm.policy;
  if (perm.approve_reads) params["approve_reads"] = true;
  if (perm.deny_all) params["deny_all"] = true;
  if (perm.timeout_seconds > 0) params["permission_timeout"] = perm.timeout_seconds;
  put(params, "permission_timeout_action", perm.timeout_action);
  if (request.timeout) params["timeout"] = static_cast<std::int64_t>(request.timeout->count());
  put(params, "session_id", request.resume_session);
  // A client retrying the same call after a lost connection reaches the
  // same runtime rather than a second one.
  params["idempotency_key"] = "mcp-" + run.run_id;

  const bj::value result = co_await tools.hub().call(run.supervisor_id, "spawn", std::move(params),
                                                     SupervisorHub::kSpawnTimeout);
  run.runtime_id = string_at(result, "runtime_id");
  run.session_id = string_at(result, "session_id");
  co_return &tools.registry().add(std::move(run));
}

}  // namespace avenor::host::mcp
