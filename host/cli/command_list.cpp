#include "cli/command_list.hpp"

#include <array>

namespace avenor::host {
namespace {

struct CommandLine {
  std::string_view name;
  std::string_view summary;
};

// The order and wording of cli.md §1's table.
constexpr std::array<CommandLine, 11> kCommands{{
    {"run", "start one agent session (or a loop) on a backend and block until it ends (default)"},
    {"answer", "write the response file for a pending file-based permission request"},
    {"watch", "read or tail an NDJSON event log; print a digest or pass JSON through"},
    {"control", "JSON-RPC client for a run's or a supervisor's control socket"},
    {"stable", "long-lived supervisor of many runtimes behind one control socket"},
    {"mcp", "MCP server (stdio or HTTP) driving a stable supervisor (auto-started)"},
    {"verify", "validate loop files (recursing into nested ones) without running"},
    {"plugins", "list loaded backend plugins"},
    {"doctor", "check every backend's CLI presence and version"},
    {"claude-channel", "internal: the MCP sidecar Claude Code launches for claude-channel"},
    {"claude-channel-cleanup", "internal: remove stale avenor-channel-* entries from .mcp.json"},
}};

}  // namespace

bool is_command_name(std::string_view word) {
  for (const CommandLine& command : kCommands)
    if (command.name == word) return true;
  return false;
}

std::string command_list_text() {
  constexpr std::size_t kColumn = 24;
  std::string text =
      "Usage: avenor <command> [flags]\n"
      "       avenor [run flags]       (run is the default command)\n"
      "\n"
      "Commands:\n";
  auto line = [&](std::string_view name, std::string_view summary) {
    text += "  ";
    text += name;
    text += std::string(name.size() < kColumn ? kColumn - name.size() : 1, ' ');
    text += summary;
    text += '\n';
  };
  for (const CommandLine& command : kCommands) line(command.name, command.summary);
  line("help [command]", "this list, or a command's usage");
  line("version", "print the version (also --version, -v)");
  text += "\nRun 'avenor <command> --help' for a command's flags.\n";
  return text;
}

}  // namespace avenor::host
