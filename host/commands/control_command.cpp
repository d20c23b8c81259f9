#include "commands/control_command.hpp"

#include <chrono>
#include <variant>

#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"
#include "control_client/control_commands.hpp"
#include "util/duration.hpp"

namespace avenor::host {
namespace {

// What --socket and --wait-socket set, wherever on the line they appear.
struct Connection {
  std::string socket_path;
  std::chrono::nanoseconds wait_socket{};
};

// The connection flags bind to `c` without resetting it, so the top-level
// flag set and a sub-command's set can both define them (D13: `avenor
// control status --socket S`).
void define_connection_flags(GoFlagSet& flags, Connection& c) {
  flags.func_var(
      "socket", "control socket `path` to dial (required)",
      [&c](std::string_view v) -> std::optional<std::string> {
        c.socket_path = std::string(v);
        return std::nullopt;
      },
      false, "path");
  flags.func_var(
      "wait-socket",
      "wait up to this `duration` for the socket to accept a connection (e.g. 10s; 0 = dial once)",
      [&c](std::string_view v) -> std::optional<std::string> {
        auto d = parse_go_duration(v);
        if (!d) return duration_error_reason(v);
        if (d->count() < 0) return "must not be negative";
        c.wait_socket = *d;
        return std::nullopt;
      },
      false, "duration");
}

}  // namespace

// The command line is read in two steps. Up to the command word the flags
// are read as Go reads them. After it, `spawn` hands its words to its own
// flag set (which knows --socket and --wait-socket too); any other command
// reads its words in interspersed mode (GoFlagSet::set_interspersed): only
// --socket, --wait-socket and help are flags there, every other word (even
// `--not-a-flag`) is an argument as before, and `--` makes every later word
// an argument. So every spec form means what it meant, and `status --socket
// S` and `--socket S prompt -- "--socket" rt_1` work too.
int control_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  using namespace control_client;
  constexpr int kExitError = 1;  // cli.md §2: control reports usage errors with 1, too

  Connection connection;
  GoFlagSet flags("control");
  flags.set_usage_header(control_usage_header());
  define_connection_flags(flags, connection);
  const UsageReporter usage("control", kExitError, out, err);
  const GoFlagSet::ParseResult parsed = flags.parse(args);
  if (!parsed.ok()) return usage.parse_failure(flags, parsed);

  std::vector<std::string> words = flags.args();
  if (!words.empty() && words.front() != "spawn") {
    GoFlagSet command_flags("control " + words.front());
    command_flags.set_interspersed(true);
    define_connection_flags(command_flags, connection);
    const GoFlagSet::ParseResult command_parsed = command_flags.parse(words);
    if (command_parsed.status == GoFlagSet::ParseResult::Status::help)
      return usage.help(flags.usage());
    if (!command_parsed.ok()) return usage.error(command_parsed.error);
    words = command_flags.args();
  }
  std::variant<ControlRequest, UsageError> request = parse_control_command(
      words, [&connection](GoFlagSet& f) { define_connection_flags(f, connection); });
  if (const UsageError* problem = std::get_if<UsageError>(&request)) {
    if (problem->help) return usage.help(problem->text);
    if (connection.socket_path.empty()) return usage.error("--socket is required");
    err << problem->text;
    // The spawn errors point at spawn's own usage.
    err << (problem->append_usage ? usage.hint() : "run 'avenor control spawn --help' for usage")
        << "\n";
    return kExitError;
  }
  if (connection.socket_path.empty()) return usage.error("--socket is required");
  return execute_control_request(std::get<ControlRequest>(request), connection.socket_path, out,
                                 err, connection.wait_socket);
}

}  // namespace avenor::host
