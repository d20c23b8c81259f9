// Reading a run's NDJSON event log for avenor_events and avenor_result
// (control.md §11.3): regular files only, up to the size it had when the
// read began (a log that keeps growing cannot keep the call going), complete
// lines over 1 MiB fail the call, lines that are not JSON objects are
// skipped, and a torn last line (no '\n') is left out as incomplete.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace avenor::host::mcp {

inline constexpr std::size_t kMaxEventLine = 1024 * 1024;

// The last `limit` events whose `event` or `type` is one of `types` (all
// when empty), in file order, final_output cut to 4096 runes. A missing log
// gives []. Throws ToolError for an unreadable log or an oversize line.
boost::json::array last_events(const std::string& path, const std::vector<std::string>& types,
                               std::size_t limit);

// The last session.end of the log (final_output as written), if any.
std::optional<boost::json::object> last_session_end(const std::string& path);

}  // namespace avenor::host::mcp
