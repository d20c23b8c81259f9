// The run's status snapshot (control.md §7): what `status`, `GET /status`
// and a supervisor's mirror read. Updated from every published event and
// by the run loop and the control methods.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::host {

class StatusSnapshot {
 public:
  StatusSnapshot(std::string run_id, std::string run_label);

  // Every stamped event, in publication order (full final_output).
  void observe(const boost::json::object& event);
  // The same for an event known by these fields only (the serialised fast
  // path of backend events); only for a type that !reads_fields().
  void observe(std::string_view type, std::string_view session_id, std::int64_t seq);
  // Whether observe() reads more of an event of `type` than the fields above.
  static bool reads_fields(std::string_view type) {
    return type == "agent.status" || type == "permission.request" || type == "session.end";
  }

  void set_session_id(std::string id);
  void set_retry(int attempt, int max_retries);
  void set_turn_state(std::string state);
  void set_parked(bool parked);
  void set_pid(std::int64_t pid);

  const std::string& turn_state() const { return turn_state_; }
  const std::string& session_id() const { return session_id_; }
  // The full text of the last session.end's final_output (for `result`).
  const std::string& final_output() const { return final_output_; }

  // The snapshot as control surfaces show it: final_output bounded.
  boost::json::object to_json() const;

 private:
  void touch();

  std::string run_id_;
  std::string run_label_;
  std::string session_id_;
  std::string phase_;
  std::string phase_label_;
  std::string last_event_;
  std::optional<int> retry_attempt_;
  std::optional<int> max_retries_;
  std::optional<boost::json::object> permission_;
  std::int64_t started_at_;
  std::int64_t updated_at_;
  std::string turn_state_;
  std::int64_t latest_seq_ = 0;
  std::string final_output_;
  bool parked_ = false;
  std::int64_t pid_ = 0;
};

}  // namespace avenor::host
