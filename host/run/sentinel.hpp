// The completion sentinel file (cli.md §3.11), the exit-code/stop-reason maps
// (events.md §4) and the per-run file housekeeping derived from the sentinel
// path (cli.md §3.3 steps 3-4).
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace avenor::host {

struct SentinelInfo {
  int exit_code = 0;
  std::string session_id;
  std::string stop_reason;   // empty: the row's fallback (end_turn, timeout, ..., exit_N)
  std::string run_id;        // empty: no RUN= line
  std::string reason_label;  // BLOCKED only; empty: no REASON= line
};

// The sentinel text: status line, SESSION=, STOP_REASON=, then EXIT_CODE=
// (130 and FAILED rows), REASON= (BLOCKED), RUN=; every line LF-terminated.
std::string format_sentinel(const SentinelInfo& info);

// Exit code → stop reason: 0 end_turn, 2 refusal, 3 max_tokens,
// 4 max_turn_requests, 5 blocked, 124 timeout, 130 cancelled, else "".
std::string stop_reason_for_exit(int exit_code);

// Stop reason → exit code (events.md §4); unknown or empty → 1.
int exit_code_for_stop_reason(std::string_view stop_reason);

// Writes the sentinel atomically (`.sentinel-XXXXXX.tmp` in its directory,
// then rename). On failure prints "avenor: write sentinel: <err>" to `err`,
// leaves no file behind and returns false.
bool write_sentinel(const std::filesystem::path& path, const SentinelInfo& info, std::ostream& err);

// `run.done` → `run.perm`; any other path gets `.perm` appended
// (`x` → `x.perm`, `a.done.done` → `a.done.perm`).
std::filesystem::path derive_permission_base(const std::filesystem::path& sentinel);

// Why no sentinel can be written at `sentinel`: it exists and is not a
// regular file (a FIFO, directory, device, socket or symlink is someone
// else's), "--sentinel-file: refusing to replace <path>: not a regular file".
// nullopt when it is absent, a regular file or empty (no sentinel).
std::optional<std::string> sentinel_path_problem(const std::filesystem::path& sentinel);

// Pre-run/pre-retry cleanup: removes the sentinel, `<perm_base>.req` and
// `<perm_base>.req.response` (empty paths are skipped) when they are regular
// files. Missing files are fine; anything else is left in place and reported
// ("avenor: cleanup: refusing to remove <path>: not a regular file", or
// "avenor: cleanup: remove <path>: <err>") and the rest continues.
void cleanup_run_files(const std::filesystem::path& sentinel,
                       const std::filesystem::path& perm_base, std::ostream& err);

}  // namespace avenor::host
