// What avenor launches for the claude backend (docs/backends/claude.md).
//
// Claude Code takes the session to open on its command line: `--session-id`
// with a UUID the plugin makes up for a new one, `--resume` for an old one.
// The host says which in the start options (resume_session_id), so the plugin
// knows it before the process starts.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::claude {

// How long the host waits for claude to exit after closing its stdin, before
// SIGTERM: claude saves its transcript on a clean EOF exit.
inline constexpr std::chrono::seconds kCloseGrace{5};

// The claude argv without the session flag:
// `claude -p --input-format stream-json --output-format stream-json --verbose
//  --include-partial-messages --permission-prompt-tool stdio [--model M]
//  [--effort L] [--agent A]`.
std::vector<std::string> claude_argv(const sdk::StartOptions& options);

// Which session a claude process opens: {"--session-id", uuid} or
// {"--resume", id}.
struct SessionFlag {
  std::string flag, id;
};

// The launch spec: claude_argv plus the session flag, in the absolute --dir,
// without the variables a parent Claude Code session leaves behind.
sdk::LaunchSpec launch_spec(const sdk::StartOptions& options, const SessionFlag& session);

// Whether `id` may be passed to --resume: non-empty, at most 200 bytes, of
// [A-Za-z0-9._-], not starting with '-'. Claude Code's own ids are UUIDs.
bool valid_resume_id(std::string_view id);

}  // namespace avenor::claude
