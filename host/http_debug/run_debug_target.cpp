#include "http_debug/run_debug_target.hpp"

namespace avenor::host {

boost::json::object RunDebugTarget::status() { return plane_.status(); }

// A single run has no runtimes to address (control.md §9 table).
DebugReply RunDebugTarget::runtime_status(const std::string&) {
  return DebugReply::error(DebugReply::Kind::not_found, "not found");
}

DebugReply RunDebugTarget::cancel() {
  plane_.cancel();
  return DebugReply::ok({{"ok", true}});
}

DebugReply RunDebugTarget::cancel_runtime(const std::string&) {
  return DebugReply::error(DebugReply::Kind::not_found, "not found");
}

AnswerStatus RunDebugTarget::answer_permission(const std::string& request_id,
                                               const std::string& option_id,
                                               const std::optional<std::string>& message) {
  return plane_.answer_permission(request_id, option_id, message);
}

std::shared_ptr<EventSubscription> RunDebugTarget::subscribe(const std::string& runtime_filter) {
  return plane_.hub().subscribe(runtime_filter, EventSubscription::kCapacity);
}

}  // namespace avenor::host
