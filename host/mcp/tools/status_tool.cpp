// avenor_status (control.md §11.3): one run's status, optionally after a
// wait, or every run of a supervisor.
#include <boost/json.hpp>

#include "mcp/run_status.hpp"
#include "mcp/run_wait.hpp"
#include "mcp/tool_args.hpp"
#include "mcp/tool_runner.hpp"

namespace avenor::host::mcp::tools {

namespace asio = boost::asio;
namespace bj = boost::json;

namespace {

asio::awaitable<bj::array> list_runs(ToolRunner& t, std::string supervisor_id, bool lifecycle) {
  const std::string sup = t.hub().resolve(supervisor_id);
  const bj::value listed = co_await t.hub().call(sup, "list", bj::object{});
  bj::array out;
  std::vector<std::string> reported;
  if (const bj::array* entries = listed.if_array()) {
    for (const auto& item : *entries) {
      const bj::object* e = item.if_object();
      if (e == nullptr) continue;
      RunRecord& run = t.known_run(*e, sup);
      reported.push_back(run.runtime_id);
      // Earlier turns on the same runtime (follow-ups went on) first.
      for (const RunRecord* before : t.registry().on_supervisor(sup)) {
        if (before->runtime_id == run.runtime_id && before->frozen)
          out.push_back(lifecycle ? lifecycle_view(*before->frozen) : *before->frozen);
      }
      const bj::object s = run_status(run, *e);
      out.push_back(lifecycle ? lifecycle_view(s) : s);
    }
  }
  // Runs the supervisor no longer reports (it was restarted) whose sentinel
  // says how they ended.
  for (RunRecord* run : t.registry().on_supervisor(sup)) {
    if (std::find(reported.begin(), reported.end(), run->runtime_id) != reported.end()) continue;
    if (!run->frozen && !read_sentinel(run->sentinel_file).present) continue;
    const bj::object s = run_status(*run, std::nullopt);
    out.push_back(lifecycle ? lifecycle_view(s) : s);
  }
  co_return out;
}

}  // namespace

asio::awaitable<bj::value> status(ToolRunner& t, bj::object args, ProgressReport progress) {
  const ToolArgs a(args, {"run_id", "view", "wait_for", "timeout", "supervisor_id"});
  const std::string view = a.string("view").value_or("full");
  if (view != "full" && view != "lifecycle")
    throw ToolError("view must be \"full\" or \"lifecycle\"");
  const bool lifecycle = view == "lifecycle";
  const std::optional<std::string> wait_name = a.string("wait_for");
  std::optional<WaitKind> kind;
  if (wait_name) {
    kind = parse_wait_kind(*wait_name);
    if (!kind)
      throw ToolError("wait_for must be one of terminal, phase_change, turn_complete, permission");
  }
  const std::string run_id = a.string("run_id").value_or("");
  if (kind && run_id.empty()) throw ToolError("wait_for requires run_id");
  if (a.has("timeout") && !kind) throw ToolError("timeout requires wait_for");
  const auto timeout = a.duration("timeout");
  const std::string supervisor_id = a.string("supervisor_id").value_or("");
  if (run_id.empty()) co_return co_await list_runs(t, supervisor_id, lifecycle);

  RunRecord* run = co_await t.resolve(run_id, supervisor_id);
  bj::object s;
  if (kind) {
    std::optional<std::chrono::milliseconds> limit;
    if (timeout) limit = *timeout;
    s = co_await wait_for_run(t, *run, *kind, limit, std::move(progress));
  } else {
    s = co_await t.status(*run);
  }
  co_return lifecycle ? lifecycle_view(s) : s;
}

}  // namespace avenor::host::mcp::tools
