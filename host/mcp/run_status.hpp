// How a run's status reads to an MCP client (control.md §11.3 "Status
// mapping", D16): the supervisor's runtime entry and the run's sentinel
// folded into running | done | failed | timeout | killed.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mcp/run_registry.hpp"

namespace avenor::host::mcp {

// Line 1 of a sentinel and its SESSION= line; `present` false when the file
// is missing, not a regular file or unreadable.
struct SentinelView {
  bool present = false;
  std::string state;  // DONE, FAILED, BLOCKED, TIMEOUT, KILLED
  std::string session_id;
  std::string stop_reason;
};
SentinelView read_sentinel(const std::string& path);

// How many turns the runtime entry says have settled (0 when absent).
std::int64_t settled_turns(const boost::json::object& entry);

// done/failed/timeout/killed.
bool is_terminal(std::string_view status);
// DONE → done, FAILED/BLOCKED → failed, TIMEOUT → timeout, KILLED → killed.
std::string status_of_sentinel(std::string_view state);

// The status object of `run` from its runtime entry (nullopt: the supervisor
// no longer reports it; the sentinel decides). Full view.
boost::json::object run_status(const RunRecord& run,
                               const std::optional<boost::json::object>& entry);

// The keys the lifecycle view keeps.
boost::json::object lifecycle_view(const boost::json::object& full);

}  // namespace avenor::host::mcp
