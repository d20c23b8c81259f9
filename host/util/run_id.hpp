// Run correlation ids (cli.md §3.1 --run-id).
#pragma once

#include <string>

namespace avenor::host {

// 16 random lowercase hex characters, e.g. "a1b2c3d4e5f60718".
std::string generate_run_id();

}  // namespace avenor::host
