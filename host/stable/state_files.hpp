// Where the supervisor keeps its files (cli.md §7 --state-dir, control.md
// §10.1) and its tombstone (§10.15).
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>

namespace avenor::host {

// $TMPDIR (else /tmp) + "/avenor-stable/" + the first 16 hex characters of
// sha256(absolute socket path), so a restart on the same socket finds its state.
std::filesystem::path default_state_dir(const std::filesystem::path& socket_path);

// Creates the directory (missing parents get 0700); the state directory must
// end up a real directory (not a symlink) owned by us, chmod 0700. Throws
// std::runtime_error with a one-line message otherwise.
void prepare_state_dir(const std::filesystem::path& dir);

// <state>/<runtime_id>/ with mode 0700 (created; an existing real directory
// is reused). Throws std::runtime_error.
std::filesystem::path prepare_runtime_dir(const std::filesystem::path& state_dir,
                                          const std::string& runtime_id);

// Tombstone <socket>.dead, mode 0644: "STOPPED reason=<reason> pid=<pid>
// at=<RFC3339 UTC>\n", written atomically. Returns false (and writes one line
// to err) on failure.
bool write_tombstone(const std::filesystem::path& socket_path, std::string_view reason,
                     std::ostream& err);

// Removes a stale <socket>.dead at startup, only if it is a regular file
// (never unlinks anything else).
void remove_tombstone(const std::filesystem::path& socket_path);

}  // namespace avenor::host
