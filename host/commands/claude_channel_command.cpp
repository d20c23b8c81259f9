#include "commands/claude_channel_command.hpp"

#include <unistd.h>

#include <iostream>
#include <stdexcept>

#include "claude_channel/channel_sidecar.hpp"
#include "claude_channel/loopback_http.hpp"
#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"

namespace avenor::host {
namespace {

constexpr const char* kPrefix = "avenor claude-channel: ";
constexpr int kExitUsage = 2;

}  // namespace

int claude_channel_main(const std::vector<std::string>& args, std::ostream& err) {
  GoFlagSet flags("claude-channel");
  flags.set_usage_header(
      "Usage: avenor claude-channel --run-id <id> --token <token> --broker-url "
      "http://127.0.0.1:<port>\n"
      "Internal: the MCP channel sidecar Claude Code starts for the claude-channel backend.\n");
  std::string run_id;
  std::string token;
  std::string broker_url;
  flags.string_var(run_id, "run-id", "", "relay run `id` (required)");
  flags.string_var(token, "token", "", "relay run `token` (required)");
  flags.string_var(broker_url, "broker-url", "", "relay `URL`, loopback http only (required)");

  // Help goes to stdout: the sidecar's MCP session has not started yet.
  const UsageReporter usage("claude-channel", kExitUsage, std::cout, err);
  const GoFlagSet::ParseResult parsed = flags.parse(args);
  if (!parsed.ok()) return usage.parse_failure(flags, parsed);
  if (run_id.empty() || token.empty() || broker_url.empty())
    return usage.error("--run-id, --token and --broker-url are all required");
  if (!flags.args().empty()) return usage.error("unexpected argument " + flags.args().front());
  claude_channel::SidecarConfig config;
  config.run_id = run_id;
  config.token = token;
  try {
    config.broker = claude_channel::parse_loopback_url(broker_url);
  } catch (const std::runtime_error& e) {
    err << kPrefix << "--broker-url: " << e.what() << "\n";
    return kExitUsage;
  }
  claude_channel::ChannelSidecar sidecar(std::move(config));
  return sidecar.run(STDIN_FILENO, STDOUT_FILENO);
}

}  // namespace avenor::host
