// avenor_result (control.md §11.3): the run's outcome and full output,
// waiting for its turn by default.
#include <avenor/sdk/json.hpp>
#include <boost/json.hpp>

#include "mcp/event_log.hpp"
#include "mcp/run_status.hpp"
#include "mcp/run_wait.hpp"
#include "mcp/tool_args.hpp"
#include "mcp/tool_runner.hpp"

namespace avenor::host::mcp::tools {

namespace asio = boost::asio;
namespace bj = boost::json;

namespace {

// The full output: the supervisor keeps it; a runtime it no longer reports
// left its last session.end in the log.
asio::awaitable<void> add_output(ToolRunner& t, const RunRecord& run, bj::object& out) {
  if (run.frozen) {
    out["output"] = run.frozen_output;
    co_return;
  }
  bj::object params{{"runtime_id", run.runtime_id}};
  std::optional<bj::value> full;
  try {
    full = co_await t.hub().call(run.supervisor_id, "result", std::move(params));
  } catch (const LinkCallError&) {
    // Not reported any more: the log speaks.
  }
  if (full && full->is_object()) {
    out["output"] = sdk::json::string_or(full->get_object(), "final_output");
    co_return;
  }
  const std::optional<bj::object> end = last_session_end(run.event_path);
  if (!end) co_return;
  out["output"] = sdk::json::string_or(*end, "final_output");
  if (sdk::json::bool_or(*end, "final_output_truncated")) {
    out["output_truncated"] = true;
    out["output_event_path"] = run.event_path;
  }
}

}  // namespace

asio::awaitable<bj::value> result(ToolRunner& t, bj::object args, ProgressReport progress) {
  const ToolArgs a(args, {"run_id", "wait", "timeout", "supervisor_id"});
  const std::string key = a.required("run_id");
  const bool wait = a.boolean("wait").value_or(true);
  const auto timeout = a.duration("timeout");
  RunRecord* run = co_await t.resolve(key, a.string("supervisor_id").value_or(""));
  bj::object s;
  if (wait) {
    std::optional<std::chrono::milliseconds> limit;
    if (timeout) limit = *timeout;
    s = co_await wait_for_run(t, *run, WaitKind::turn_complete, limit, std::move(progress));
  } else {
    s = co_await t.status(*run);
  }
  const std::string status = sdk::json::string_or(s, "status");
  const bool pending = sdk::json::bool_or(s, "pending_permission");
  bj::object out{{"run_id", run->run_id},
                 {"label", run->label},
                 {"status", status},
                 {"ready", is_terminal(status) && !pending},
                 {"runtime_id", run->runtime_id},
                 {"session_id", sdk::json::string_or(s, "session_id")},
                 {"pending_permission", pending}};
  if (const bj::value* p = s.if_contains("permission")) out["permission"] = *p;
  if (is_terminal(status)) {
    const std::string stop = read_sentinel(run->sentinel_file).stop_reason;
    if (!stop.empty()) out["stop_reason"] = stop;
    co_await add_output(t, *run, out);
  }
  if (const bj::value* timed_out = s.if_contains("timed_out")) out["timed_out"] = *timed_out;
  co_return out;
}

}  // namespace avenor::host::mcp::tools
