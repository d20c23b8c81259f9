#include "launch.hpp"

#include <avenor/sdk/session_dir.hpp>

namespace avenor::pi {

std::string pi_thinking_level(std::string_view avenor_level) {
  if (avenor_level == "max") return "xhigh";
  return std::string(avenor_level);
}

sdk::LaunchSpec launch_spec(const sdk::StartOptions& options) {
  sdk::LaunchSpec spec;
  spec.argv = {"pi", "--mode", "rpc", "--no-session"};
  if (!options.model.empty()) {
    spec.argv.push_back("--model");
    spec.argv.push_back(options.model);
  }
  if (!options.thinking.empty()) {
    spec.argv.push_back("--thinking");
    spec.argv.push_back(pi_thinking_level(options.thinking));
  }
  spec.cwd = sdk::absolute_dir(options.dir);
  // §6.5: close stdin, wait 5 s, kill. pi exits on its own at stdin EOF.
  spec.eof_grace = kCloseGrace;
  // An inherited PI_AGENT would name the parent's agent, not this run's.
  auto set_or_unset = [&spec](const std::string& key, const std::string& value) {
    if (value.empty())
      spec.unset_env.push_back(key);
    else
      spec.env[key] = value;
  };
  set_or_unset("PI_AGENT", options.agent);
  set_or_unset("PI_AGENT_PROFILE", options.agent_profile);
  return spec;
}

}  // namespace avenor::pi
