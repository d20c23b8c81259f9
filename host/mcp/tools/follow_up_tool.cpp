// avenor_follow_up (control.md §11.3, D16): a new run continuing a finished
// run's session — on the same runtime while it is parked, else on a new
// runtime that resumes the session.
#include <avenor/sdk/json.hpp>
#include <boost/json.hpp>

#include "mcp/run_launch.hpp"
#include "mcp/run_status.hpp"
#include "mcp/tool_args.hpp"
#include "mcp/tool_runner.hpp"
#include "util/random_hex.hpp"

namespace avenor::host::mcp::tools {

namespace asio = boost::asio;
namespace bj = boost::json;

namespace {

RunRecord next_run(const RunRecord& from, std::string label) {
  RunRecord next;
  next.label = std::move(label);
  next.supervisor_id = from.supervisor_id;
  next.repo_dir = from.repo_dir;
  next.agent = from.agent;
  next.model = from.model;
  next.backend = from.backend;
  next.thinking = from.thinking;
  next.server_url = from.server_url;
  next.auto_approve = from.auto_approve;
  next.permissions = from.permissions;  // the run's permission policy stays
  return next;
}

// The parked runtime takes the message as its next turn; the runs before on
// it keep the status and output they finished with.
asio::awaitable<bj::value> prompt_parked(ToolRunner& t, RunRecord& run, const bj::object& entry,
                                         std::string message, std::string label) {
  bj::object result_params{{"runtime_id", run.runtime_id}};
  const bj::value out = co_await t.hub().call(run.supervisor_id, "result", result_params);
  std::string output;
  if (const bj::object* o = out.if_object()) output = sdk::json::string_or(*o, "final_output");
  const std::string supervisor = run.supervisor_id;
  const std::string runtime = run.runtime_id;
  for (RunRecord* before : t.registry().on_supervisor(supervisor)) {
    if (before->runtime_id != runtime || before->frozen) continue;
    before->frozen = run_status(*before, entry);
    before->frozen_output = output;
  }
  RunRecord next = next_run(run, std::move(label));
  next.run_id = random_uuid_v4();
  next.runtime_id = runtime;
  next.session_id = sdk::json::string_or(entry, "session_id");
  next.sentinel_file = run.sentinel_file;
  next.event_path = run.event_path;
  next.owns_files = run.owns_files;
  next.turn_baseline = settled_turns(entry);
  bj::object prompt{{"runtime_id", runtime}, {"text", std::move(message)}};
  co_await t.hub().call(supervisor, "prompt", std::move(prompt));
  const RunRecord& added = t.registry().add(std::move(next));
  co_return bj::object{{"run_id", added.run_id},
                       {"label", added.label},
                       {"runtime_id", added.runtime_id},
                       {"supervisor_id", added.supervisor_id},
                       {"resumed", false}};
}

}  // namespace

asio::awaitable<bj::value> follow_up(ToolRunner& t, bj::object args) {
  const ToolArgs a(args, {"run_id", "message", "label", "supervisor_id"});
  const std::string key = a.required("run_id");
  std::string message = a.required("message");
  RunRecord* found = co_await t.resolve(key, a.string("supervisor_id").value_or(""));
  // The runtime's newest run is the one whose turn matters.
  RunRecord& run = *t.registry().newest_on_runtime(found->supervisor_id, found->runtime_id);
  std::string label = a.string("label").value_or(found->label + "-followup");

  const std::optional<bj::object> entry = co_await t.entry(run);
  const std::string runtime_status = entry ? sdk::json::string_or(*entry, "status") : "ended";
  const std::string status = run_status(run, entry)["status"].as_string().c_str();
  if (runtime_status != "ended" && !is_terminal(status))
    throw ToolError("run \"" + key + "\" is still running; wait for it with avenor_result before " +
                    "a follow-up");
  if (runtime_status == "idle")
    co_return co_await prompt_parked(t, run, *entry, std::move(message), std::move(label));

  // The runtime has ended: a new one resumes the session (§11.3).
  const SentinelView sentinel = read_sentinel(run.sentinel_file);
  std::string session = sentinel.state == "DONE" ? sentinel.session_id : std::string();
  if (session.empty() && entry) session = sdk::json::string_or(*entry, "session_id");
  if (session.empty()) session = run.session_id;
  if (session.empty())
    throw ToolError("run \"" + key + "\" has no session id to resume (it never started one)");
  LaunchRequest request;
  request.run = next_run(run, std::move(label));
  request.prompt = std::move(message);
  request.resume_session = std::move(session);
  const RunRecord* made = co_await launch_run(t, std::move(request));
  co_return bj::object{{"run_id", made->run_id},
                       {"label", made->label},
                       {"runtime_id", made->runtime_id},
                       {"supervisor_id", made->supervisor_id},
                       {"resumed", true}};
}

}  // namespace avenor::host::mcp::tools
