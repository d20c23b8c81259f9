// The supervisor's registry.json (control.md §10.16): what a restarted
// supervisor needs to re-adopt or bury the runtimes of its predecessor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace avenor::host {

struct RegistryRuntime {
  std::string runtime_id;
  std::int64_t pid = 0, pgid = 0;
  std::string identity_token, control_socket, on_event, sentinel_file, dir, label, agent,
      agent_profile, model, thinking, backend;
  bool auto_approve = false;
  std::string parent_id;
  std::vector<std::string> children;
  std::string session_id;
  std::int64_t started_at = 0;
  std::string status;
  int exit_code = 0;
};

struct Registry {
  std::string supervisor_run_id;
  std::int64_t next_runtime = 1;
  std::vector<RegistryRuntime> runtimes;
};

struct RegistryLoad {
  std::optional<Registry> registry;
  std::vector<std::string> warnings;
};

// Missing file → {nullopt, {}}. Not a regular file, over 16 MiB, unreadable,
// not JSON, truncated, wrong shape → {nullopt, {"registry <path>: <why>;
// starting with an empty registry"}}. Never throws, never deletes or modifies
// the file. An individual bad entry is skipped with a warning, the rest kept.
RegistryLoad load_registry(const std::filesystem::path& file);

// Atomic replace (temp in the same dir + rename), mode 0600. Throws
// std::system_error.
void save_registry(const std::filesystem::path& file, const Registry& registry);

// Runtime ids found as <state>/rt_<n>/ directories, sorted by n (to salvage a
// corrupt registry and keep next_runtime above every id ever used).
std::vector<std::string> runtime_dirs(const std::filesystem::path& state_dir);

}  // namespace avenor::host
