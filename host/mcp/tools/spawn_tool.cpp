// avenor_spawn (control.md §11.3): a new run on a new runtime.
#include <boost/json.hpp>
#include <filesystem>
#include <system_error>

#include "mcp/run_launch.hpp"
#include "mcp/tool_args.hpp"
#include "mcp/tool_runner.hpp"
#include "permissions/permission_policy.hpp"

namespace avenor::host::mcp::tools {

namespace asio = boost::asio;
namespace bj = boost::json;
namespace fs = std::filesystem;

namespace {

// The permission params (new), checked here so the calling agent gets the
// problem as a tool error; a policy file is read by this server.
PermissionSettings permission_settings(const ToolArgs& a, const bj::object& args,
                                       bool auto_approve) {
  PermissionSettings p;
  if (const bj::value* v = args.if_contains("permission_policy"); v && !v->is_null()) {
    if (!v->is_object() && !v->is_string())
      throw ToolError("parameter \"permission_policy\" must be an object or a string");
    try {
      p.policy =
          (v->is_string() ? load_permission_policy(v->get_string()) : parse_permission_policy(*v))
              .to_json();
    } catch (const PolicyError& e) {
      throw ToolError(std::string("permission_policy: ") + e.what());
    }
  }
  p.approve_reads = a.boolean("approve_reads").value_or(false);
  p.deny_all = a.boolean("deny_all").value_or(false);
  if (p.deny_all && auto_approve)
    throw ToolError("deny_all and auto_approve are mutually exclusive");
  if (auto d = a.duration("permission_timeout")) p.timeout_seconds = d->count();
  p.timeout_action = a.string("permission_timeout_action").value_or("");
  if (!p.timeout_action.empty() && !valid_timeout_action(p.timeout_action))
    throw ToolError("permission_timeout_action must be reject or cancel, not \"" +
                    p.timeout_action + "\"");
  return p;
}

}  // namespace

asio::awaitable<bj::value> spawn(ToolRunner& t, bj::object args) {
  const ToolArgs a(
      args, {"repo_dir", "agent", "prompt", "prompt_file", "label", "timeout", "model", "thinking",
             "backend", "server_url", "supervisor_id", "auto_approve", "permission_policy",
             "approve_reads", "deny_all", "permission_timeout", "permission_timeout_action"});
  LaunchRequest request;
  RunRecord& run = request.run;
  std::error_code ec;
  const fs::path dir = fs::absolute(a.required("repo_dir"), ec).lexically_normal();
  if (ec || !fs::is_directory(dir, ec))
    throw ToolError("repo_dir \"" + a.required("repo_dir") + "\" is not a directory");
  run.repo_dir = dir.string();
  request.prompt = a.string("prompt").value_or("");
  const std::string prompt_file = a.string("prompt_file").value_or("");
  if (!request.prompt.empty() && !prompt_file.empty())
    throw ToolError("prompt and prompt_file are mutually exclusive");
  if (request.prompt.empty() && prompt_file.empty())
    throw ToolError("prompt or prompt_file is required");
  if (!prompt_file.empty()) {
    const fs::path file = fs::absolute(prompt_file, ec);
    if (ec || !fs::is_regular_file(file, ec))
      throw ToolError("prompt_file \"" + prompt_file + "\" is not a regular file");
    request.prompt_file = file.string();
  }
  request.timeout = a.duration("timeout");
  run.label = a.string("label").value_or("");
  run.agent = a.string("agent").value_or("");
  run.model = a.string("model").value_or("");
  run.thinking = a.string("thinking").value_or("");
  run.backend = a.string("backend").value_or("");
  run.server_url = a.string("server_url").value_or("");
  run.supervisor_id = a.string("supervisor_id").value_or("");
  run.auto_approve = a.boolean("auto_approve").value_or(false);
  run.permissions = permission_settings(a, args, run.auto_approve);

  const RunRecord* made = co_await launch_run(t, std::move(request));
  co_return bj::object{{"run_id", made->run_id},
                       {"label", made->label},
                       {"supervisor_id", made->supervisor_id},
                       {"runtime_id", made->runtime_id},
                       {"session_id", made->session_id},
                       {"sentinel_file", made->sentinel_file},
                       {"event_path", made->event_path}};
}

}  // namespace avenor::host::mcp::tools
