// `avenor control --socket <path> <command> [args]` (cli.md §6): a JSON-RPC
// client for a run's or a supervisor's control socket.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

// `args` are the words after "control". Results go to `out`, diagnostics and
// usage to `err`. Returns 0 on success, 1 for any error (usage included).
int control_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace avenor::host
