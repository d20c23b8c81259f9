// `avenor claude-channel --run-id R --token T --broker-url U` (cli.md §1,
// backends.md §7.4): the MCP channel sidecar Claude Code starts for the
// claude-channel backend. Serves MCP on stdin/stdout until stdin closes.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

// Returns 0 when stdin ends, 2 for usage errors (a missing or bad flag, a
// broker URL that is not loopback http), 1 when stdout fails.
int claude_channel_main(const std::vector<std::string>& args, std::ostream& err);

}  // namespace avenor::host
