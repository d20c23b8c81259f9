// Starting a runtime for a new MCP run (avenor_spawn, and avenor_follow_up
// when the first runtime has ended): the supervisor's `spawn` with the run's
// own sentinel and log under $TMPDIR, named by its uuid.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "mcp/tool_runner.hpp"

namespace avenor::host::mcp {

struct LaunchRequest {
  RunRecord run;  // identity, repo_dir, label (may be empty), supervisor_id
  std::string prompt, prompt_file;
  std::optional<std::chrono::seconds> timeout;
  std::string resume_session;  // a session to resume
};

// Spawns, registers and returns the new run (its run_id, paths, runtime id
// and session id filled in).
boost::asio::awaitable<RunRecord*> launch_run(ToolRunner& tools, LaunchRequest request);

}  // namespace avenor::host::mcp
