#include "mcp/run_status.hpp"

#include <avenor/sdk/json.hpp>
#include <boost/json.hpp>

#include "util/read_file.hpp"

namespace avenor::host::mcp {

namespace bj = boost::json;

std::int64_t settled_turns(const bj::object& entry) {
  const bj::value* v = entry.if_contains("settled_turns");
  return (v != nullptr && v->is_int64()) ? v->get_int64() : 0;
}

namespace {

// The supervisor's status in the MCP vocabulary.
std::string map_status(const RunRecord& run, const bj::object& entry) {
  const std::string s = sdk::json::string_or(entry, "status");
  if (s == "running") return "running";
  if (s == "idle") {
    // D16: parked after a successful turn counts as done — but a follow-up
    // sent to the parked runtime is this run's turn only once it settled.
    if (run.turn_baseline && settled_turns(entry) <= *run.turn_baseline) return "running";
    return read_sentinel(run.sentinel_file).state == "DONE" ? "done" : "running";
  }
  if (s == "ended") {
    const SentinelView sentinel = read_sentinel(run.sentinel_file);
    return sentinel.present ? status_of_sentinel(sentinel.state) : "done";
  }
  if (s == "blocked") return "failed";
  return s;  // done, failed, timeout, killed, waiting pass through
}

}  // namespace

SentinelView read_sentinel(const std::string& path) {
  SentinelView view;
  if (path.empty()) return view;
  const std::string text = read_regular_tail(path, 64 * 1024);
  if (text.empty()) return view;
  view.present = true;
  view.state = text.substr(0, text.find('\n'));
  auto field = [&](std::string_view key) {
    const std::string marker = "\n" + std::string(key) + "=";
    const auto at = text.find(marker);
    if (at == std::string::npos) return std::string();
    const auto start = at + marker.size();
    return text.substr(start, text.find('\n', start) - start);
  };
  view.session_id = field("SESSION");
  view.stop_reason = field("STOP_REASON");
  return view;
}

bool is_terminal(std::string_view status) {
  return status == "done" || status == "failed" || status == "timeout" || status == "killed";
}

std::string status_of_sentinel(std::string_view state) {
  if (state == "DONE") return "done";
  if (state == "TIMEOUT") return "timeout";
  if (state == "KILLED") return "killed";
  return "failed";  // FAILED, BLOCKED, anything unexpected
}

bj::object run_status(const RunRecord& run, const std::optional<bj::object>& entry) {
  if (run.frozen) return *run.frozen;
  bj::object o;
  o["run_id"] = run.run_id;
  o["label"] = run.label;
  o["supervisor_id"] = run.supervisor_id;
  o["runtime_id"] = run.runtime_id;
  if (!entry) {
    // The supervisor no longer reports the runtime: only the sentinel speaks.
    const SentinelView sentinel = read_sentinel(run.sentinel_file);
    o["status"] = sentinel.present ? status_of_sentinel(sentinel.state) : "failed";
    o["session_id"] = sentinel.session_id.empty() ? run.session_id : sentinel.session_id;
    o["phase"] = "";
    o["phase_label"] = "";
    o["pending_permission"] = false;
    o["backend"] = run.backend;
    o["agent"] = run.agent;
    o["model"] = run.model;
    o["dir"] = run.repo_dir;
    o["event_path"] = run.event_path;
    o["sentinel_file"] = run.sentinel_file;
    o["latest_seq"] = 0;
    if (!sentinel.present) o["error"] = "the supervisor no longer reports this run";
    return o;
  }
  const std::string status = map_status(run, *entry);
  o["status"] = status;
  // Before the backend reported one, the id the spawn answered with.
  const std::string session = sdk::json::string_or(*entry, "session_id");
  o["session_id"] = session.empty() ? run.session_id : session;
  for (const char* key :
       {"dir", "phase", "phase_label", "pending_permission", "permission", "parent_id", "children",
        "event_path", "sentinel_file", "usage", "latest_seq"}) {
    if (const bj::value* v = entry->if_contains(key)) o[key] = *v;
  }
  // What the agent runs on: as asked, else what the supervisor chose.
  for (const std::string key : {"backend", "agent", "model"}) {
    const std::string asked = sdk::json::string_or(*entry, key);
    o[key] = asked.empty() ? sdk::json::string_or(*entry, "effective_" + key) : asked;
  }
  // A follow-up's runtime still shows the previous turn's output until this
  // turn settles: only a finished run has an output of its own.
  if (is_terminal(status)) {
    for (const char* key : {"final_output", "final_output_truncated"})
      if (const bj::value* v = entry->if_contains(key)) o[key] = *v;
  }
  return o;
}

bj::object lifecycle_view(const bj::object& full) {
  bj::object o;
  for (const char* key : {"run_id", "label", "status", "runtime_id", "phase", "phase_label",
                          "pending_permission", "latest_seq", "timed_out"}) {
    if (const bj::value* v = full.if_contains(key)) o[key] = *v;
  }
  return o;
}

}  // namespace avenor::host::mcp
