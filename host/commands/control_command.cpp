#include "commands/control_command.hpp"

#include <variant>

#include "cli/go_flags.hpp"
#include "control_client/control_commands.hpp"

namespace avenor::host {

int control_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  using namespace control_client;
  constexpr int kExitError = 1;  // cli.md §2: control reports usage errors with 1, too

  GoFlagSet flags("control");
  flags.set_usage_header(control_usage_header());
  std::string socket_path;
  flags.string_var(socket_path, "socket", "", "control socket `path` to dial (required)");
  const GoFlagSet::ParseResult parsed = flags.parse(args);
  if (!parsed.ok()) {
    flags.print_error_and_usage(parsed, err);
    return kExitError;
  }
  if (socket_path.empty()) {
    err << "avenor control: --socket is required\n" << flags.usage();
    return kExitError;
  }

  std::variant<ControlRequest, UsageError> request = parse_control_command(flags.args());
  if (const UsageError* usage = std::get_if<UsageError>(&request)) {
    err << usage->text;
    if (usage->append_usage) err << flags.usage();
    return kExitError;
  }
  return execute_control_request(std::get<ControlRequest>(request), socket_path, out, err);
}

}  // namespace avenor::host
