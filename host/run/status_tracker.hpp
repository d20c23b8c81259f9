// Synthesizes agent.status from the event stream (events.md §5.3), so a
// watcher sees thinking → working → waiting → done without parsing backends.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::host {

struct StatusChange {
  std::string phase;
  std::string label;
};

class StatusTracker {
 public:
  // The change `event` causes, if any (nullopt when the phase and label stay).
  std::optional<StatusChange> observe(const boost::json::object& event);
  // The same by type; `event` may be null unless needs_fields(type) (the
  // serialised fast path has no object for a chunk).
  std::optional<StatusChange> observe(std::string_view type, const boost::json::object* event);
  // Whether observe() reads more of an event of `type` than its type.
  static bool needs_fields(std::string_view type) {
    return type == "tool.call" || type == "permission.request";
  }
  // A permission was answered: back to working, keeping only a marker label.
  std::optional<StatusChange> permission_resolved();
  // A status marker from the agent sets the state directly.
  void set_from_marker(std::string phase, std::string label);

  const std::string& phase() const { return phase_; }
  // A new turn on the same session starts from no phase again.
  void reset() { *this = StatusTracker(); }

 private:
  std::optional<StatusChange> move_to(std::string phase, std::string label, bool from_marker);

  std::string phase_;
  std::string label_;
  std::string marker_label_;  // kept across permission gates
};

}  // namespace avenor::host
