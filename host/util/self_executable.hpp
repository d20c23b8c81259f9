// The absolute path of the running avenor binary, for commands that make an
// agent start avenor again (a backend's MCP sidecar, stable's runtimes).
#pragma once

#include <string>

namespace avenor::host {

// Empty when /proc/self/exe cannot be read.
std::string self_executable();

}  // namespace avenor::host
