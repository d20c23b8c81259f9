// The HTTP debug routes of a single `avenor run`, over its ControlPlane.
// HTTP calls bypass socket ownership (control.md §9), so they go straight to
// the plane.
#pragma once

#include "control/control_plane.hpp"
#include "http_debug/debug_target.hpp"

namespace avenor::host {

class RunDebugTarget final : public DebugTarget {
 public:
  explicit RunDebugTarget(ControlPlane& plane) : plane_(plane) {}

  bool is_supervisor() const override { return false; }
  boost::json::object status() override;
  DebugReply runtime_status(const std::string& runtime_id) override;
  DebugReply cancel() override;
  DebugReply cancel_runtime(const std::string& runtime_id) override;
  AnswerStatus answer_permission(const std::string& request_id, const std::string& option_id,
                                 const std::optional<std::string>& message) override;
  std::shared_ptr<EventSubscription> subscribe(const std::string& runtime_filter) override;

 private:
  ControlPlane& plane_;
};

}  // namespace avenor::host
