// One runtime as the supervisor keeps it (control.md §10.5): what it was
// spawned with, the mirror of its live state built from its events, and the
// handles of its process and control link.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "run/session_identity.hpp"
#include "stable/change_signal.hpp"
#include "stable/registry.hpp"
#include "control_client/rpc_link.hpp"
#include "process/detached_process.hpp"

namespace avenor::host {

// What a spawn fixed for the runtime's whole life.
struct RuntimeSpec {
  std::string runtime_id;
  std::string label;
  std::string dir = ".";
  std::string agent, agent_profile, model, thinking, backend;
  std::string effective_agent, effective_model, effective_backend;
  std::string on_event, sentinel_file, control_socket, identity_token;
  std::string parent_id;
  bool auto_approve = false;
  bool loop = false;  // a loop runtime never parks
  std::int64_t started_at = 0;
};

struct Runtime {
  explicit Runtime(RuntimeSpec s) : spec(std::move(s)) {}

  RuntimeSpec spec;
  std::vector<std::string> children;

  // --- the mirror (updated from every event) ---
  std::string status = "running";  // running | idle (parked) | ended
  std::string session_id;
  std::string phase, phase_label;
  std::string last_event;
  std::string stop_reason;      // of the last session.end
  std::string final_output;     // full text of the last session.end
  bool output_pending = false;  // the full text is being fetched (events carry it cut)
  std::optional<boost::json::value> usage;
  std::int64_t latest_seq = 0;
  int exit_code = 0;
  std::int64_t backend_pid = 0;
  bool pid_refreshing = false;  // a status call for backend_pid is out
  // The pending permission request (events.md §7), if any.
  std::optional<boost::json::object> permission;
  std::vector<std::string> answered_requests;  // a bounded memory of resolved ids
  bool answer_in_flight = false;
  bool claim_held = false;  // the supervisor holds the claim for its clients
  // Turns that settled (parked or ended): wait_turn fires when this moves.
  std::uint64_t settled = 0;
  bool shutting_down = false;  // cancel asked: queued prompts are dropped
  bool linked = false;         // the link is up and subscribed
  bool end_recorded = false;   // the runtime's end was handled (§10.12)

  // --- steering ---
  std::deque<std::string> queued_prompts;  // held while parked, until a slot is free
  std::optional<std::string> interrupt_text;
  bool forwarding = false;       // a coroutine is acquiring a slot to forward
  std::string last_request_id;   // dedupe of child-question replies (§10.11)
  std::string pending_question;  // request id of the open child question
  std::unique_ptr<boost::asio::steady_timer> question_timer;

  // --- handles ---
  std::unique_ptr<DetachedProcess> process;
  std::shared_ptr<RpcLink> link;
  ChangeSignal changed;

  bool ended() const { return status == "ended"; }
  // What its session belongs to, and its owner number in the identity map.
  SessionIdentity identity() const {
    return {spec.effective_backend, spec.agent, spec.effective_model, spec.agent_profile};
  }
  SessionIdentityMap::Owner owner() const;
  bool parked() const { return status == "idle"; }
  bool active() const { return status == "running"; }

  // Folds one (re-stamped) event into the mirror. Returns true when the
  // event parked the runtime.
  bool observe(const boost::json::object& event);

  // The runtime entry (control.md §10.5); final_output bounded.
  boost::json::object entry(const std::string& supervisor_run_id) const;
  RegistryRuntime registry_entry() const;
};

// rt_N → N; 0 for anything else.
std::int64_t runtime_number(const std::string& runtime_id);

// The pending request as an entry shows it: fields minus the envelope, plus
// cwd and, for a command, resolved_paths and path_escapes_cwd.
boost::json::object permission_view(const boost::json::object& request, const std::string& dir);

}  // namespace avenor::host
