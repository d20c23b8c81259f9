#include "tmux_commands.hpp"

namespace avenor::claude_channel {

std::vector<std::string> claude_arguments(const ClaudeLaunch& launch) {
  std::vector<std::string> args{"--dangerously-load-development-channels",
                                "server:" + launch.server_name, "--session-id", launch.session_id};
  auto optional = [&args](const char* flag, const std::string& value) {
    if (value.empty()) return;
    args.emplace_back(flag);
    args.push_back(value);
  };
  optional("--agent", launch.agent);
  optional("--name", launch.label);
  optional("--model", launch.model);
  optional("--effort", launch.effort);
  args.emplace_back("--permission-mode");
  args.emplace_back("default");
  return args;
}

std::string shell_quote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\"'\"'";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::string pane_command(const std::vector<std::string>& claude_args) {
  std::string command =
      "unset CLAUDE_CODE_CHILD_SESSION CLAUDE_CODE_SESSION_ID CLAUDE_PID; exec claude";
  for (const std::string& arg : claude_args) command += " " + shell_quote(arg);
  return command;
}

std::string session_target(std::string_view session_name) {
  return "=" + std::string(session_name);
}

std::string pane_target(std::string_view session_name) {
  return "=" + std::string(session_name) + ":";
}

std::vector<std::string> tmux_new_session(std::string_view session_name, std::string_view dir,
                                          std::string_view command) {
  return {"tmux", "new-session", "-d", "-s", std::string(session_name), "-c", std::string(dir),
          "-x",   "220",         "-y", "50", std::string(command)};
}

std::vector<std::string> tmux_pane_pid(std::string_view session_name) {
  return {"tmux", "list-panes", "-t", session_target(session_name), "-F", "#{pane_pid}"};
}

std::vector<std::string> tmux_capture_pane(std::string_view session_name) {
  return {"tmux", "capture-pane", "-p", "-t", pane_target(session_name)};
}

std::vector<std::string> tmux_has_session(std::string_view session_name) {
  return {"tmux", "has-session", "-t", session_target(session_name)};
}

std::vector<std::string> tmux_kill_session(std::string_view session_name) {
  return {"tmux", "kill-session", "-t", session_target(session_name)};
}

std::vector<std::string> tmux_send_keys(std::string_view session_name,
                                        const std::vector<std::string>& keys) {
  std::vector<std::string> argv{"tmux", "send-keys", "-t", pane_target(session_name)};
  argv.insert(argv.end(), keys.begin(), keys.end());
  return argv;
}

std::vector<std::string> tmux_load_buffer(std::string_view buffer_name) {
  return {"tmux", "load-buffer", "-b", std::string(buffer_name), "-"};
}

std::vector<std::string> tmux_paste_buffer(std::string_view buffer_name,
                                           std::string_view session_name) {
  return {"tmux", "paste-buffer",           "-p", "-d",
          "-b",   std::string(buffer_name), "-t", pane_target(session_name)};
}

}  // namespace avenor::claude_channel
