// A loop file and the loop files its phases nest (loop_file), followed
// recursively: loaded for a run (load_loop_config in loop_config.hpp) or
// checked file by file for `avenor verify` (cli.md §9).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace avenor::host {

struct LoopFileCheck {
  std::filesystem::path path;       // as opened: the top file as given, nested ones resolved
  std::vector<std::string> errors;  // each starts with "loop config: "; empty when valid
  bool ok() const { return errors.empty(); }
};

// Every file reachable from `file`, each once (by canonical path), top file
// first and nested ones depth-first in phase order. A file that cannot be
// loaded has its load error and no further files are followed from it; a
// loop_file that leads back to a file being checked is an error of the phase
// that names it. Never throws LoopConfigError.
std::vector<LoopFileCheck> check_loop_files(const std::filesystem::path& file);

}  // namespace avenor::host
