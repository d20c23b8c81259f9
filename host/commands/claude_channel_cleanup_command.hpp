// `avenor claude-channel-cleanup [--dir D]` (cli.md §1, backends.md §7.8):
// removes stale `avenor-channel-*` server entries from `<D>/.mcp.json`, the
// ones a claude-channel session could not remove itself (a killed run).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

// An entry is stale unless its relay (`--broker-url` in its args) still
// answers GET /health: a live session's entry is kept. Prints
// `removed N avenor-channel entries from <path>` to `out`; a missing file
// removes nothing. Returns 0 on success, 2 for usage errors, 1 when the file
// cannot be read, parsed or rewritten.
int claude_channel_cleanup_main(const std::vector<std::string>& args, std::ostream& out,
                                std::ostream& err);

}  // namespace avenor::host
