// Waiting on a run (control.md §11.3 "Waits"): poll its status every poll
// interval until the wait's condition holds or its time is up — never longer
// than --max-wait, so an MCP client's request timeout never kills the call.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "mcp/tool_runner.hpp"

namespace avenor::host::mcp {

enum class WaitKind { terminal, phase_change, turn_complete, permission };

// "terminal" → WaitKind; nullopt for anything else.
std::optional<WaitKind> parse_wait_kind(std::string_view name);

// The run's status once the wait ends, with timed_out set. `limit` is capped
// at the server's max wait; nullopt means the max wait.
boost::asio::awaitable<boost::json::object> wait_for_run(
    ToolRunner& tools, RunRecord& run, WaitKind kind,
    std::optional<std::chrono::milliseconds> limit, ProgressReport progress);

}  // namespace avenor::host::mcp
