// The loop file (events.md §9.1): pre, loop and post phases, loaded from
// JSON, YAML or TOML into one model and validated strictly before anything runs.
#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "loop/prompt_template.hpp"

namespace avenor::host {

struct LoopConfig;

struct LoopPhase {
  std::string name;
  PromptTemplate prompt;  // from `prompt` or the content of `prompt_file`; empty for loop_file
  std::filesystem::path loop_file;           // resolved against the config's directory, or empty
  std::shared_ptr<const LoopConfig> nested;  // the loaded loop_file (load_loop_config only)
  bool resume_from_previous = false;
};

struct LoopConfig {
  std::filesystem::path path;  // as it was opened
  int max_iterations = 10;     // effective: 0 or missing → 10
  std::vector<LoopPhase> pre, loop, post;
};

// Every validation failure; what() starts with "loop config: ".
class LoopConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LoadBudget;

// Reads and validates one file. Prompt files are read; nested loop files are
// resolved but not loaded (their `nested` stays null). The file and its
// prompt files must be regular files within the limits of load_limits.hpp
// ("read <path>: not a regular file", "... larger than N bytes"), their text
// charged to `budget` (a load of nested files shares one). Throws
// LoopConfigError.
LoopConfig parse_loop_file(const std::filesystem::path& file, LoadBudget& budget);
LoopConfig parse_loop_file(const std::filesystem::path& file);  // with a budget of its own

// parse_loop_file plus every nested loop file, recursively, each resolved
// against the directory of the file naming it; a file nested twice is loaded
// once and shared. A file that includes itself (directly or not) is an error:
// "loop config: phase[name X]: loop_file <path>: nested loop_file cycle: a.json
// -> b.yaml -> a.json". A nested file's error is prefixed with the phase that
// names it: "loop config: phase[name X]: loop_file <path>: <inner error>".
// Files nested deeper than kMaxLoopFileNesting are an error too, and all files
// share one LoadBudget.
// Throws LoopConfigError.
std::shared_ptr<const LoopConfig> load_loop_config(const std::filesystem::path& file);

// `--prompt` alongside `--loop-file`: the implicit first pre phase "(initial)".
// The prompt is a template too; a bad one throws LoopConfigError.
void insert_initial_phase(LoopConfig& config, const std::string& prompt);

}  // namespace avenor::host
