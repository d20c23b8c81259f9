// One `avenor watch` run over an opened log (events.md §8.2, §8.7, §8.8):
// reads complete lines from the start offset, hands them to the line
// processor, keeps the cursor and decides when to stop. Follow mode runs on
// an Asio loop: a steady_timer paces the polls and a signal_set turns
// SIGINT/SIGTERM into a clean stop.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <ostream>

#include "util/unique_fd.hpp"
#include "watch/line_processor.hpp"
#include "watch/until_end.hpp"

namespace avenor::host::watch {

struct WatchConfig {
  LineOptions lines;
  bool follow = false;
  bool until_end = false;  // only with follow
  std::chrono::nanoseconds poll_interval = std::chrono::milliseconds(250);
  std::filesystem::path cursor_path;  // empty: no cursor
  // Overridable so tests need not wait the full grace period.
  std::chrono::nanoseconds until_end_grace = UntilEndTracker::kGrace;
  // The descriptor behind `out`, or -1. Follow mode polls it while idle, so
  // `watch --follow | head -1` ends once head has gone, not at the next event.
  int output_fd = -1;
};

// Reads `log` (already positioned at `start_offset`) and returns the exit
// code: 0 done, 1 output, read or cursor-write failure (diagnostic on `err`).
// A reader of `out` that went away (EPIPE) ends the watch quietly with 0 and
// leaves the cursor alone (what was delivered is unknown).
int run_watch(UniqueFd log, std::int64_t start_offset, const WatchConfig& config, std::ostream& out,
              std::ostream& err);

}  // namespace avenor::host::watch
