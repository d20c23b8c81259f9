// One live plugin instance and the backend process it asked for. This is the
// host side of the plugin ABI: it implements avenor_host_api, owns the child
// process, the timers and the pending operations, and turns every plugin
// callback into a posted handler so the plugin is never re-entered.
#pragma once

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/backend.hpp>
#include <avenor/sdk/json.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/backend_event.hpp"
#include "plugin_host/plugin_catalog.hpp"
#include "process/child_process.hpp"
#include "services/service_router.hpp"

namespace avenor::host {

// How an operation ended.
struct OperationResult {
  enum class Status { ok, failed, cancelled } status = Status::ok;
  boost::json::value value;  // the result when ok
  std::string error;         // the message otherwise

  bool ok() const { return status == Status::ok; }
};

class BackendConnection {
 public:
  using OperationCallback = std::function<void(OperationResult)>;
  struct Callbacks {
    // Events emitted back to back, in order (one call per posted batch).
    std::function<void(std::vector<BackendEvent>)> on_events;
    std::function<void(std::string reason)> on_closed;  // the backend is gone
  };

  // Creates the plugin instance. Throws std::runtime_error with the plugin's message.
  BackendConnection(boost::asio::io_context& io, const BackendEntry& backend,
                    const sdk::StartOptions& options, Callbacks callbacks);
  ~BackendConnection();
  BackendConnection(const BackendConnection&) = delete;
  BackendConnection& operator=(const BackendConnection&) = delete;

  // Asks the plugin what to launch and starts it. Throws std::runtime_error;
  // MissingExecutable when the program is a bare name not found on PATH.
  void launch();
  pid_t pid() const;
  // The first program a host service call could not find on PATH, if any:
  // a failed start names it (the plugin's own message may not).
  const std::string& missing_executable() const { return missing_executable_; }

  void start_session(boost::json::object params, OperationCallback done);
  void prompt(boost::json::object params, OperationCallback done);
  void cancel(boost::json::object params, OperationCallback done);
  void answer_permission(boost::json::object params, OperationCallback done);

  // Ends the backend process (stdin closed, SIGTERM, SIGKILL after a grace
  // period); `done` runs once it is gone. Operations still pending fail.
  void close(std::function<void()> done);

 private:
  struct HostApi;  // the C callbacks
  using PluginCall = void (*)(avenor_instance*, std::uint64_t, avenor_str);

  void call_operation(PluginCall fn, const boost::json::object& params, OperationCallback done);
  void finish_operation(std::uint64_t op, OperationResult result);
  void deliver_bytes(std::string_view bytes);
  std::optional<boost::json::object> parse_event(std::string_view text);
  void queue_event(BackendEvent event);
  void deliver_closed(std::string reason);
  bool plugin_takes_service_results() const;

  boost::asio::io_context& io_;
  BackendEntry backend_;
  Callbacks callbacks_;
  avenor_host_api api_{};
  avenor_instance* instance_ = nullptr;
  std::unique_ptr<ChildProcess> child_;
  std::map<std::uint64_t, OperationCallback> pending_;
  std::map<std::uint64_t, std::unique_ptr<boost::asio::steady_timer>> timers_;
  std::unique_ptr<ServiceRouter> services_;  // host services the plugin calls (ABI 1.1)
  std::uint64_t next_op_ = 1;
  std::string missing_executable_;
  sdk::json::Parser event_parser_;  // ABI 1.1 events, and rejected serialised ones
  // Events emitted since the last post of this connection, delivered by one
  // posted handler (null: the next event starts a new batch).
  std::shared_ptr<std::vector<BackendEvent>> open_batch_;
  static constexpr std::size_t kBatchReserve = 64;
  bool closed_ = false;
  // Shared with posted handlers so they do nothing once this object is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace avenor::host
