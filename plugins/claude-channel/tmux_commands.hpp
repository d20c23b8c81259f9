// The command lines of the claude-channel backend (backends.md §7.3, §7.5,
// §7.7): Claude Code's arguments, the tmux pane command and every tmux call
// the backend makes. Pure: the backend runs them through the host's
// process.run service.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace avenor::claude_channel {

struct ClaudeLaunch {
  std::string server_name;  // avenor-channel-<8>
  std::string session_id;   // --session-id (a UUID)
  std::string agent;        // --agent, optional
  std::string label;        // --name, optional
  std::string model;        // --model, optional
  std::string effort;       // --effort, optional (low..max)
};

// `--dangerously-load-development-channels server:<name> --session-id <id>
// [--agent A] [--name L] [--model M] [--effort E] --permission-mode default`.
std::vector<std::string> claude_arguments(const ClaudeLaunch& launch);

// POSIX shell single-quoting ('it'"'"'s' style): safe for any bytes.
std::string shell_quote(std::string_view word);

// "unset CLAUDE_CODE_CHILD_SESSION CLAUDE_CODE_SESSION_ID CLAUDE_PID; exec
// claude <quoted args>": `exec` makes the pane's pid claude's pid, and the
// inherited variables would make claude a child session (no transcript).
std::string pane_command(const std::vector<std::string>& claude_args);

// tmux's exact-match target for a session ("=name"), so "avenor-ab" never
// matches "avenor-abc".
std::string session_target(std::string_view session_name);
// The active pane of that session ("=name:").
std::string pane_target(std::string_view session_name);

std::vector<std::string> tmux_new_session(std::string_view session_name, std::string_view dir,
                                          std::string_view command);
std::vector<std::string> tmux_pane_pid(std::string_view session_name);
std::vector<std::string> tmux_capture_pane(std::string_view session_name);
std::vector<std::string> tmux_has_session(std::string_view session_name);
std::vector<std::string> tmux_kill_session(std::string_view session_name);
// Keys by tmux name ("Enter", "Escape", "1"); -l is not used, so names work.
std::vector<std::string> tmux_send_keys(std::string_view session_name,
                                        const std::vector<std::string>& keys);
// The prompt goes to a named buffer through stdin, then is pasted with
// bracketed paste (-p) so a newline inside it does not submit early; -d drops
// the buffer after the paste.
std::vector<std::string> tmux_load_buffer(std::string_view buffer_name);
std::vector<std::string> tmux_paste_buffer(std::string_view buffer_name,
                                           std::string_view session_name);

}  // namespace avenor::claude_channel
