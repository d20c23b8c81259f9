#include "thinking_support.hpp"

namespace avenor::pi {

sdk::ProcessRequest help_request(const sdk::LaunchSpec& launch) {
  sdk::ProcessRequest r;
  r.argv = {launch.argv.empty() ? std::string("pi") : launch.argv.front(), "--help"};
  r.env = launch.env;
  r.unset_env = launch.unset_env;
  r.cwd = launch.cwd;
  r.timeout = std::chrono::seconds(30);  // node starts slowly on a busy machine
  return r;
}

std::optional<std::string> thinking_support_error(const sdk::Outcome<sdk::ProcessResult>& outcome) {
  if (!outcome.ok()) return "pi --help: " + outcome.error;
  if (outcome->timed_out) return std::string("pi --help: timed out");
  if (outcome->out.find(kThinkingFlagHelp) != std::string::npos ||
      outcome->err.find(kThinkingFlagHelp) != std::string::npos)
    return std::nullopt;
  return std::string("backend \"pi\" does not support parameter \"thinking\"");
}

}  // namespace avenor::pi
