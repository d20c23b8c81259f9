// The HTTP debug adapter's view of a supervisor (control.md §9): the
// supervisor-wide snapshot, runtime entries, per-runtime cancel.
#pragma once

#include "http_debug/debug_target.hpp"
#include "stable/supervisor.hpp"

namespace avenor::host {

class StableDebugTarget : public DebugTarget {
 public:
  StableDebugTarget(boost::asio::io_context& io, Supervisor& supervisor)
      : io_(io), supervisor_(supervisor) {}

  bool is_supervisor() const override { return true; }
  boost::json::object status() override { return supervisor_.supervisor_status(); }
  DebugReply runtime_status(const std::string& runtime_id) override;
  DebugReply cancel() override;
  DebugReply cancel_runtime(const std::string& runtime_id) override;
  AnswerStatus answer_permission(const std::string&, const std::string&,
                                 const std::optional<std::string>&) override {
    return AnswerStatus::no_pending;  // only single-run claims are answered over HTTP
  }
  std::shared_ptr<EventSubscription> subscribe(const std::string& runtime_filter) override {
    return supervisor_.hub().subscribe(runtime_filter, EventSubscription::kCapacity);
  }

 private:
  boost::asio::io_context& io_;
  Supervisor& supervisor_;
};

}  // namespace avenor::host
