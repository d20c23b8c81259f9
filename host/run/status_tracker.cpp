#include "run/status_tracker.hpp"

#include <avenor/sdk/json.hpp>

namespace avenor::host {

namespace json = sdk::json;

std::optional<StatusChange> StatusTracker::move_to(std::string phase, std::string label,
                                                   bool from_marker) {
  if (phase == phase_ && label == label_) return std::nullopt;
  phase_ = std::move(phase);
  label_ = std::move(label);
  if (from_marker) marker_label_ = label_;
  return StatusChange{phase_, label_};
}

std::optional<StatusChange> StatusTracker::observe(const boost::json::object& event) {
  std::string_view type;
  if (auto* e = event.if_contains("event"); e && e->is_string()) type = e->get_string();
  return observe(type, &event);
}

std::optional<StatusChange> StatusTracker::observe(std::string_view type,
                                                   const boost::json::object* fields) {
  static const boost::json::object kNone;
  const boost::json::object& event = fields != nullptr ? *fields : kNone;
  if (type == "agent.thought_chunk") {
    if (phase_ == "thinking" || phase_ == "waiting" || phase_ == "done") return std::nullopt;
    return move_to("thinking", "", false);
  }
  if (type == "tool.call") {
    if (phase_ == "waiting" || phase_ == "done") return std::nullopt;
    marker_label_.clear();  // a tool call replaces whatever the agent said it was doing
    return move_to("working", json::string_or(event, "title"), false);
  }
  if (type == "permission.request") {
    if (phase_ == "done") return std::nullopt;
    std::string label = json::string_or(event, "question");
    if (label.empty()) label = json::string_or(event, "tool");
    return move_to("waiting", label, false);
  }
  if (type == "session.end") return move_to("done", "", false);
  return std::nullopt;
}

std::optional<StatusChange> StatusTracker::permission_resolved() {
  return move_to("working", marker_label_, !marker_label_.empty());
}

void StatusTracker::set_from_marker(std::string phase, std::string label) {
  phase_ = std::move(phase);
  label_ = std::move(label);
  marker_label_ = label_;
}

}  // namespace avenor::host
