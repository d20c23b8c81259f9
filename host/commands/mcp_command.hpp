// `avenor mcp` (cli.md §8, control.md §11): flags, the supervisor hub, the
// tools, and the stdio or HTTP transport on one event loop.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

int mcp_main(const std::vector<std::string>& args, std::ostream& err);

}  // namespace avenor::host
