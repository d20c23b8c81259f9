// What the supervisor writes for a runtime process that is gone (control.md
// §10.12): its log is the runtime's own, so the supervisor reads where it
// ended and appends the synthesized events after it, continuing its seq.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

namespace avenor::host {

struct LogTail {
  std::string last_event;     // the `event` of the last complete line ("" if none)
  std::int64_t last_seq = 0;  // its seq
};

// Reads the end of an NDJSON log (regular files only, never blocking on a
// FIFO; at most the last 8 MiB). A torn last line is skipped as incomplete.
LogTail read_log_tail(const std::filesystem::path& log);

// Stamps `event` (ts, seq, run_id, run_label, runtime_id) and appends it as
// one line with one write(2); a torn last line in the log (no final '\n') is
// ended first, in the same write, so the event is a line of its own. Returns
// the stamped event; a write failure is
// reported to `err` (the event is still returned for subscribers).
boost::json::object append_dead_runtime_event(const std::filesystem::path& log,
                                              boost::json::object event, std::int64_t seq,
                                              const std::string& run_id,
                                              const std::string& run_label,
                                              const std::string& runtime_id, std::ostream& err);

// FAILED / STOP_REASON=error / EXIT_CODE=1 (cli.md §3.11).
void write_failed_sentinel(const std::filesystem::path& sentinel, const std::string& session_id,
                           const std::string& run_id, std::ostream& err);

// The exit code a sentinel's status line stands for (DONE 0, BLOCKED 5,
// TIMEOUT 124, KILLED 130, FAILED its EXIT_CODE= or 1); 1 when unreadable.
int sentinel_exit_code(const std::filesystem::path& sentinel);

}  // namespace avenor::host
