// The methods of a single run's control socket (control.md §6, §8),
// answered from the run's ControlPlane.
#pragma once

#include "control/control_methods.hpp"
#include "control/control_plane.hpp"

namespace avenor::host {

class SingleRunMethods : public ControlMethods {
 public:
  explicit SingleRunMethods(ControlPlane& plane) : plane_(plane) {}

  boost::asio::awaitable<boost::json::value> call(CallContext& ctx, const std::string& method,
                                                  const boost::json::object& params) override;
  void connection_opened(ControlConnection&) override { plane_.client_connected(); }
  void connection_closed(ControlConnection&) override { plane_.client_disconnected(); }

 private:
  boost::json::value answer_permission(const boost::json::object& params);

  ControlPlane& plane_;
};

}  // namespace avenor::host
