// The MCP server's runs (control.md §11.3 "Registry"): in memory for the life
// of the process, indexed by MCP run id (uuid) and by label (newest wins). A
// run is one turn the client asked for: an avenor_spawn, or an
// avenor_follow_up, which may reuse a parked runtime (D16).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace avenor::host::mcp {

// avenor_spawn's permission settings (new), sent to `spawn` as they are.
struct PermissionSettings {
  std::optional<boost::json::object> policy;  // checked and normalized
  bool approve_reads = false;
  bool deny_all = false;
  std::int64_t timeout_seconds = 0;  // 0: none
  std::string timeout_action;        // empty: the default (reject)
};

struct RunRecord {
  std::string run_id;  // uuid v4
  std::string label;
  std::string supervisor_id;  // the supervisor's control socket path
  std::string runtime_id;
  std::string session_id;
  std::string sentinel_file, event_path;
  // This server named those two files (its avenor_spawn, or a follow-up
  // sharing them): only then may avenor_shutdown remove them.
  bool owns_files = false;
  std::string repo_dir;
  // What a follow-up carries over.
  std::string agent, model, backend, thinking, server_url;
  bool auto_approve = false;
  PermissionSettings permissions;
  // A follow-up sent to a parked runtime is done once more turns than this
  // have settled (the runtime entry's settled_turns).
  std::optional<std::int64_t> turn_baseline;
  // A run whose runtime went on to a follow-up: its status is fixed here.
  std::optional<boost::json::object> frozen;
  std::string frozen_output;
};

class RunRegistry {
 public:
  // Adds (or replaces, by run id) a run; its label now names it.
  RunRecord& add(RunRecord record);

  // By run id, then runtime id (the newest run on it), then label (the
  // newest run with it). Runtime ids and labels are only looked up among the
  // runs of `supervisor_id`. nullptr when nothing matches.
  RunRecord* find(const std::string& key, const std::string& supervisor_id = {});
  // The newest run on a runtime of a supervisor, or nullptr.
  RunRecord* newest_on_runtime(const std::string& supervisor_id, const std::string& runtime_id);

  std::vector<RunRecord*> on_supervisor(const std::string& supervisor_id);
  void remove_supervisor(const std::string& supervisor_id);

 private:
  // In insertion order: "newest" is the last.
  std::vector<std::unique_ptr<RunRecord>> runs_;
  std::vector<std::unique_ptr<RunRecord>> retired_;
};

}  // namespace avenor::host::mcp
