#include "launch.hpp"

#include <avenor/sdk/session_dir.hpp>

namespace avenor::claude {

namespace {

// Set inside a Claude Code session; inherited by this claude they would make
// it behave as a nested session.
constexpr const char* kParentSessionVars[] = {"CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT",
                                              "CLAUDE_CODE_CHILD_SESSION", "CLAUDE_CODE_SESSION_ID",
                                              "CLAUDE_PID"};

}  // namespace

std::vector<std::string> claude_argv(const sdk::StartOptions& options) {
  std::vector<std::string> argv = {"claude",
                                   "-p",
                                   "--input-format",
                                   "stream-json",
                                   "--output-format",
                                   "stream-json",
                                   "--verbose",
                                   "--include-partial-messages",
                                   "--permission-prompt-tool",
                                   "stdio"};
  auto add = [&argv](const char* flag, const std::string& value) {
    if (value.empty()) return;
    argv.emplace_back(flag);
    argv.push_back(value);
  };
  add("--model", options.model);
  add("--effort", options.thinking);  // low|medium|high|xhigh|max, as the CLI spells them
  add("--agent", options.agent);
  return argv;
}

sdk::LaunchSpec launch_spec(const sdk::StartOptions& options, const SessionFlag& session) {
  sdk::LaunchSpec spec;
  spec.argv = claude_argv(options);
  spec.argv.push_back(session.flag);
  spec.argv.push_back(session.id);
  spec.cwd = sdk::absolute_dir(options.dir);
  spec.eof_grace = kCloseGrace;
  for (const char* var : kParentSessionVars) spec.unset_env.emplace_back(var);
  return spec;
}

bool valid_resume_id(std::string_view id) {
  if (id.empty() || id.size() > 200 || id.front() == '-') return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace avenor::claude
