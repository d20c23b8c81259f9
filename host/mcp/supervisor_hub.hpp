// The supervisors `avenor mcp` talks to (control.md §11.2). The default one
// is either the --supervisor-socket (dialled eagerly) or a supervisor at
// --control-socket, started lazily by the first call that needs it, under a
// flock on `<socket>.start.lock`, with a ready pipe and an identity token so
// that a competitor's supervisor is recognised and attached to instead.
//
// One persistent connection to the default supervisor carries every call
// (it becomes the owner with the first mutating one); a supervisor_id naming
// another socket gets a fresh connection per call. A supervisor this process
// started is shut down when the server closes; an attached one is left alone.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "control_client/rpc_link.hpp"
#include "process/detached_process.hpp"
#include "stable/change_signal.hpp"

namespace avenor::host::mcp {

struct HubOptions {
  std::filesystem::path control_socket;  // where an auto-started supervisor listens
  std::string supervisor_socket;         // connect here instead; no autostart
  bool autostart = true;
  std::chrono::nanoseconds idle_timeout = std::chrono::minutes(30);
};

class SupervisorHub {
 public:
  static constexpr std::chrono::milliseconds kCallTimeout{30000};
  // spawn waits for the runtime's session (the supervisor allows it 10 s to
  // start, plus a backend's own start-up).
  static constexpr std::chrono::milliseconds kSpawnTimeout{150000};

  SupervisorHub(boost::asio::io_context& io, HubOptions options);
  ~SupervisorHub();
  SupervisorHub(const SupervisorHub&) = delete;
  SupervisorHub& operator=(const SupervisorHub&) = delete;

  // Dials --supervisor-socket; throws std::runtime_error("<reason>").
  boost::asio::awaitable<void> connect_eagerly();

  // The id (socket path) of the default supervisor.
  const std::string& default_id() const { return default_id_; }
  // "" → the default id; another path made absolute.
  std::string resolve(const std::string& supervisor_id) const;

  // One call; the default supervisor is started or re-dialled as needed.
  // Throws LinkCallError (the supervisor's error) or ToolError (it cannot be
  // reached).
  boost::asio::awaitable<boost::json::value> call(std::string supervisor_id, std::string method,
                                                  boost::json::object params,
                                                  std::chrono::milliseconds timeout = kCallTimeout);

  // `shutdown` (graceful, or kill when `force`), then waits up to 3 s for the
  // supervisor to go; one this process started is then SIGKILLed.
  boost::asio::awaitable<void> shutdown(std::string supervisor_id, bool force);

  // At server exit: the owned shutdown of a supervisor this process started.
  boost::asio::awaitable<void> close();

 private:
  boost::asio::awaitable<std::shared_ptr<RpcLink>> default_link();
  boost::asio::awaitable<std::shared_ptr<RpcLink>> dial(std::string path);
  boost::asio::awaitable<std::shared_ptr<RpcLink>> start_or_attach();
  boost::asio::awaitable<std::shared_ptr<RpcLink>> healthy(std::string path);
  boost::asio::awaitable<void> wait_gone(std::string path, std::chrono::milliseconds limit);

  boost::asio::io_context& io_;
  HubOptions options_;
  std::string default_id_;
  std::shared_ptr<RpcLink> link_;
  std::unique_ptr<DetachedProcess> started_;  // the supervisor this process started
  bool connecting_ = false;
  ChangeSignal connected_;
};

}  // namespace avenor::host::mcp
