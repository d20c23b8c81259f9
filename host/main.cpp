// avenor: dispatch on argv[1] (cli.md §1). `run` is the default command for
// a command line that starts with a flag; no arguments at all, `help`,
// `--help` or `-h` print the command list instead (issue 13).
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_list.hpp"
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
#include "util/diagnostics.hpp"

namespace {

// Commands that install SIGINT/SIGTERM handlers and unblock the termination
// signals themselves, once the handlers exist (process/signals.hpp).
bool installs_signal_handlers(const std::string& name) {
  return name == "run" || name == "stable" || name == "mcp" || name == "watch";
}

// Runs the command `name` with `args`; nullopt when there is no such command.
std::optional<int> dispatch(const std::string& name, const std::vector<std::string>& args) {
  using namespace avenor::host;
  // The others keep the default actions: a signal ends them at once.
  if (!installs_signal_handlers(name)) unblock_termination_signals();
  if (name == "run") return run_main(args, std::cerr);
  if (name == "answer") return answer_main(args, std::cout, std::cerr);
  if (name == "plugins") return plugins_main(args, std::cout, std::cerr);
  if (name == "doctor") return doctor_main(args, std::cout, std::cerr);
  if (name == "watch") return watch_main(args, std::cout, std::cerr);
  if (name == "control") return control_main(args, std::cout, std::cerr);
  if (name == "stable") return stable_main(args, std::cerr);
  if (name == "mcp") return mcp_main(args, std::cerr);
  if (name == "verify") return verify_main(args, std::cout, std::cerr);
  if (name == "claude-channel") return claude_channel_main(args, std::cerr);
  if (name == "claude-channel-cleanup")
    return claude_channel_cleanup_main(args, std::cout, std::cerr);
  return std::nullopt;
}

int unknown_command(const std::string& word) {
  std::cerr << "avenor: unknown command \"" << word
            << "\"\nrun 'avenor help' for the list of commands\n";
  return 1;  // run's usage code: the word would otherwise have gone to run
}

}  // namespace

int main(int argc, char** argv) {
  using namespace avenor::host;
  // First: a SIGTERM during setup must wait for the handlers (issue 15).
  block_termination_signals();
  diagnostics::configure();  // SPDLOG_LEVEL=debug for troubleshooting
  ignore_sigpipe();
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string first = args.empty() ? "" : args.front();
  const std::vector<std::string> rest =
      args.empty() ? std::vector<std::string>{}
                   : std::vector<std::string>(args.begin() + 1, args.end());

  if (args.empty() || first == "help" || first == "--help" || first == "-h" || first == "-help") {
    // `avenor help <cmd>` is `avenor <cmd> --help`: that command's usage on stdout.
    if (first == "help" && !rest.empty()) {
      if (!is_command_name(rest.front())) return unknown_command(rest.front());
      return *dispatch(rest.front(), {"--help"});
    }
    std::cout << command_list_text();
    return 0;
  }
  if (first == "--version" || first == "-v" || first == "version") {
    std::cout << "avenor v" << AVENOR_VERSION << "\n";
    return 0;
  }
  if (std::optional<int> code = dispatch(first, rest)) return *code;
  // A word that is no command would only become a stray argument of run.
  if (first.empty() || first.front() != '-') return unknown_command(first);
  return run_main(args, std::cerr);
}
