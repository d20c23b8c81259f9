// The methods of a supervisor's control socket (control.md §10.3): params are
// checked here, the work is the Supervisor's.
#pragma once

#include <functional>

#include "control/control_methods.hpp"
#include "stable/supervisor.hpp"

namespace avenor::host {

class StableMethods : public ControlMethods {
 public:
  // `on_shutdown` runs once the `shutdown` reply has been queued.
  StableMethods(Supervisor& supervisor, std::function<void()> on_shutdown)
      : supervisor_(supervisor), on_shutdown_(std::move(on_shutdown)) {}

  boost::asio::awaitable<boost::json::value> call(CallContext& ctx, const std::string& method,
                                                  const boost::json::object& params) override;
  bool is_async(const std::string& method) const override { return method == "wait_turn"; }
  void connection_opened(ControlConnection&) override { supervisor_.client_connected(); }
  void connection_closed(ControlConnection&) override { supervisor_.client_disconnected(); }

 private:
  boost::json::value subscribe(CallContext& ctx, const boost::json::object& params);

  Supervisor& supervisor_;
  std::function<void()> on_shutdown_;
};

}  // namespace avenor::host
