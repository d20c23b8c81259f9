// avenor: dispatch on argv[1] (cli.md §1). `run` is the default command.
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <string>
#include <vector>

#include "commands/answer_command.hpp"
#include "commands/claude_channel_cleanup_command.hpp"
#include "commands/claude_channel_command.hpp"
#include "commands/control_command.hpp"
#include "commands/doctor_command.hpp"
#include "commands/mcp_command.hpp"
#include "commands/plugins_command.hpp"
#include "commands/run_command.hpp"
#include "commands/stable_command.hpp"
#include "commands/verify_command.hpp"
#include "commands/watch_command.hpp"
#include "process/signals.hpp"

namespace {

void configure_logging() {
  // Diagnostics go to stderr only; stdout belongs to the commands.
  auto logger = spdlog::stderr_logger_st("avenor");
  logger->set_pattern("avenor: %l: %v");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug for troubleshooting
}

}  // namespace

int main(int argc, char** argv) {
  using namespace avenor::host;
  configure_logging();
  ignore_sigpipe();
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string first = args.empty() ? "" : args.front();
  auto rest = [&] { return std::vector<std::string>(args.begin() + 1, args.end()); };

  if (first == "--version" || first == "-v") {
    std::cout << "avenor v" << AVENOR_VERSION << "\n";
    return 0;
  }
  if (first == "run") return run_main(rest(), std::cerr);
  if (first == "answer") return answer_main(rest(), std::cout, std::cerr);
  if (first == "plugins") return plugins_main(rest(), std::cout, std::cerr);
  if (first == "doctor") return doctor_main(rest(), std::cout, std::cerr);
  if (first == "watch") return watch_main(rest(), std::cout, std::cerr);
  if (first == "control") return control_main(rest(), std::cout, std::cerr);
  if (first == "stable") return stable_main(rest(), std::cerr);
  if (first == "mcp") return mcp_main(rest(), std::cerr);
  if (first == "verify") return verify_main(rest(), std::cout, std::cerr);
  if (first == "claude-channel") return claude_channel_main(rest(), std::cerr);
  if (first == "claude-channel-cleanup")
    return claude_channel_cleanup_main(rest(), std::cout, std::cerr);
  return run_main(args, std::cerr);
}
