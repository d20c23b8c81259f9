// Runs a short command to completion and captures what it printed; used by
// `avenor doctor` for `<cli> --version` style checks.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace avenor::host {

struct ProbeResult {
  bool ok = false;     // ran and exited with status 0 in time
  std::string output;  // stdout, then stderr
  std::string error;   // why not ok
};

ProbeResult probe_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace avenor::host
