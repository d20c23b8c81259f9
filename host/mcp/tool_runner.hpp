// The seven avenor_* tools (control.md §11.3) and what they share: the
// supervisors, the run registry, the settings, and how a run is resolved and
// its status read. Each tool lives in its own file under mcp/tools/.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "mcp/run_registry.hpp"
#include "mcp/supervisor_hub.hpp"

namespace avenor::host::mcp {

struct McpSettings {
  // The longest a tool call waits (`--max-wait`): below an MCP client's own
  // request timeout, so the agent calls again instead of losing the call.
  std::chrono::milliseconds max_wait{50000};
  std::chrono::milliseconds poll_interval{1000};
  std::filesystem::path tmp_dir;  // $TMPDIR or /tmp: sentinels and logs
};

// Reports a wait's progress to the client; empty when it sent no token.
using ProgressReport =
    std::function<void(double progress, double total, const std::string& message)>;

class ToolRunner {
 public:
  ToolRunner(SupervisorHub& hub, McpSettings settings);

  // tools/list: every tool with its input schema.
  static boost::json::array definitions();
  static bool known(std::string_view name);

  // tools/call: the CallToolResult (a tool error has isError:true). Never
  // throws for a failing tool.
  boost::asio::awaitable<boost::json::object> call(std::string name, boost::json::object args,
                                                   ProgressReport progress);

  // --- shared by the tools ---
  // The server is closing: waits end now (timed_out) instead of at their
  // deadline.
  void end_waits() { waits_ended_ = true; }
  bool waits_ended() const { return waits_ended_; }

  SupervisorHub& hub() { return hub_; }
  RunRegistry& registry() { return registry_; }
  const McpSettings& settings() const { return settings_; }

  // The run `key` names (run id, runtime id or label) on a supervisor,
  // rebuilding registry entries from the supervisor's `list` when needed.
  // Throws ToolError `run "<key>" not found`.
  boost::asio::awaitable<RunRecord*> resolve(std::string key, std::string supervisor_id);
  // The registry's newest run on the entry's runtime, or one rebuilt from
  // the entry (a run of another MCP server, or from before a restart).
  RunRecord& known_run(const boost::json::object& entry, const std::string& supervisor_id);
  // The supervisor's runtime entry of the run; nullopt when it no longer
  // reports that runtime.
  boost::asio::awaitable<std::optional<boost::json::object>> entry(const RunRecord& run);
  // The run's status object (full view).
  boost::asio::awaitable<boost::json::object> status(RunRecord& run);

 private:
  SupervisorHub& hub_;
  RunRegistry registry_;
  McpSettings settings_;
  bool waits_ended_ = false;
};

// The tools (mcp/tools/*.cpp). Each returns its result (an object, or the
// status list's array) or throws ToolError / LinkCallError.
namespace tools {
boost::asio::awaitable<boost::json::value> spawn(ToolRunner& t, boost::json::object args);
boost::asio::awaitable<boost::json::value> status(ToolRunner& t, boost::json::object args,
                                                  ProgressReport progress);
boost::asio::awaitable<boost::json::value> result(ToolRunner& t, boost::json::object args,
                                                  ProgressReport progress);
boost::asio::awaitable<boost::json::value> answer_permission(ToolRunner& t,
                                                             boost::json::object args);
boost::asio::awaitable<boost::json::value> events(ToolRunner& t, boost::json::object args);
boost::asio::awaitable<boost::json::value> follow_up(ToolRunner& t, boost::json::object args);
boost::asio::awaitable<boost::json::value> shutdown(ToolRunner& t, boost::json::object args);
}  // namespace tools

}  // namespace avenor::host::mcp
