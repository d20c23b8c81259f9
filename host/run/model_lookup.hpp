// The agent→model lookup (cli.md §3.13): with --agent and no --model, the
// model comes from the backend's own agent configuration.
#pragma once

#include <string>
#include <string_view>

namespace avenor::host {

// The model configured for `agent` on `backend`, or "" when none is found.
// Throws std::runtime_error for an unreadable or malformed opencode config.
std::string lookup_agent_model(std::string_view backend, std::string_view agent);

}  // namespace avenor::host
