// Turns a plugin's launch spec (JSON) into what the process layer starts:
// argv, the inherited environment with the plugin's changes, and the cwd.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "process/child_process.hpp"

namespace avenor::host {

struct LaunchRequest {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::vector<std::string> unset_env;
  std::string cwd;
  std::chrono::milliseconds eof_grace{0};
};

// Throws std::runtime_error on a malformed spec (wrong types, an empty
// program name). An empty argv is valid: the backend needs no process.
LaunchRequest parse_launch_request(std::string_view json_text);

// The host's own environment, minus unset_env, with env applied on top.
ChildSpec make_child_spec(const LaunchRequest& request);

}  // namespace avenor::host
