// `avenor stable` (cli.md §7, control.md §10): flags, startup, the supervisor
// on one event loop, and the shutdown pass on a signal, `shutdown` or idle.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

int stable_main(const std::vector<std::string>& args, std::ostream& err);

}  // namespace avenor::host
