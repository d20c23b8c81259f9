#include "control/status_snapshot.hpp"

#include <avenor/sdk/json.hpp>

#include "control/bounded_output.hpp"
#include "control/event_history.hpp"
#include "util/unix_time.hpp"

namespace avenor::host {

namespace json = sdk::json;

StatusSnapshot::StatusSnapshot(std::string run_id, std::string run_label)
    : run_id_(std::move(run_id)),
      run_label_(std::move(run_label)),
      started_at_(unix_ms_now()),
      updated_at_(started_at_) {}

void StatusSnapshot::touch() { updated_at_ = std::max(unix_ms_now(), updated_at_); }

void StatusSnapshot::observe(std::string_view type, std::string_view session_id, std::int64_t seq) {
  last_event_.assign(type);
  if (!session_id.empty()) session_id_.assign(session_id);
  latest_seq_ = std::max(latest_seq_, seq);
  if (type == "permission.response") {
    permission_.reset();
  } else if (type == "session.start") {
    turn_state_ = "starting";
  } else if (type == "tool.call" || type == "agent.thought_chunk" ||
             type == "agent.message_chunk") {
    if (turn_state_.empty() || turn_state_ == "starting") turn_state_ = "running";
  }
  touch();
}

void StatusSnapshot::observe(const boost::json::object& e) {
  const std::string type = json::string_or(e, "event");
  // The fields every event has (and all a type outside reads_fields needs).
  observe(type, json::string_or(e, "session_id"), event_seq(e));
  if (type == "agent.status") {
    phase_ = json::string_or(e, "phase");
    phase_label_ = json::string_or(e, "label");
  } else if (type == "permission.request") {
    permission_ = e;
  } else if (type == "session.end") {
    if (turn_state_ != "idle" && turn_state_ != "cancelling") turn_state_ = "ended";
    // A turn that ends leaves nothing to answer.
    permission_.reset();
    if (const auto* out = e.if_contains("final_output"); out && out->is_string())
      final_output_ = std::string(out->get_string());
    else
      final_output_.clear();
  }
}

void StatusSnapshot::set_session_id(std::string id) {
  session_id_ = std::move(id);
  touch();
}

void StatusSnapshot::set_retry(int attempt, int max_retries) {
  retry_attempt_ = attempt;
  max_retries_ = max_retries;
  touch();
}

void StatusSnapshot::set_turn_state(std::string state) {
  turn_state_ = std::move(state);
  touch();
}

void StatusSnapshot::set_parked(bool parked) {
  parked_ = parked;
  touch();
}

void StatusSnapshot::set_pid(std::int64_t pid) {
  pid_ = pid;
  touch();
}

boost::json::object StatusSnapshot::to_json() const {
  boost::json::object s;
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) s[key] = v;
  };
  put("session_id", session_id_);
  put("run_id", run_id_);
  put("run_label", run_label_);
  put("phase", phase_);
  put("phase_label", phase_label_);
  put("last_event", last_event_);
  if (retry_attempt_) s["retry_attempt"] = *retry_attempt_;
  if (max_retries_ && *max_retries_ > 0) s["max_retries"] = *max_retries_;
  s["pending_permission"] = permission_.has_value();
  if (permission_) s["permission"] = *permission_;
  s["started_at"] = started_at_;
  s["updated_at"] = updated_at_;
  put("turn_state", turn_state_);
  if (latest_seq_ > 0) s["latest_seq"] = latest_seq_;
  if (!final_output_.empty()) {
    s["final_output"] = final_output_;
    bound_final_output(s);
  }
  if (parked_) s["parked"] = true;
  if (pid_ > 0) s["pid"] = pid_;
  return s;
}

}  // namespace avenor::host
