// The control socket server (control.md §1–§5): accepts any number of
// clients on the run's Asio loop, frames and validates JSON-RPC 2.0
// requests, keeps first-mutator ownership, and hands each call to a
// ControlMethods table.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/control_connection.hpp"
#include "control/control_methods.hpp"
#include "control/socket_binding.hpp"
#include "util/accept_guard.hpp"

namespace avenor::host {

class ControlServer {
 public:
  // Live connections beyond this are refused with a JSON-RPC error line.
  static constexpr std::size_t kMaxConnections = 64;

  // Claims and binds the socket path (throws std::runtime_error).
  ControlServer(boost::asio::io_context& io, const std::filesystem::path& path,
                ControlMethods& methods);
  ~ControlServer();

  void start();
  // Stops accepting, flushes what connections have queued for up to
  // `grace`, closes them and unlinks the socket if it is still ours.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(500));

  std::size_t connection_count() const { return connections_.size(); }

 private:
  class Call;

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> handle(ControlConnection& conn, std::string_view line);
  // The response frame for one request line; nothing for a notification.
  boost::asio::awaitable<std::optional<std::string>> respond(
      ControlConnection& conn, std::string_view line, std::vector<std::function<void()>>& after);
  void connection_closed(ControlConnection& conn);
  void run_async(ControlConnection& conn, std::string method, boost::json::object params,
                 boost::json::value id, bool notification);

  boost::asio::io_context& io_;
  SocketBinding binding_;
  ControlMethods& methods_;
  AcceptGuard accept_guard_;
  std::set<std::shared_ptr<ControlConnection>> connections_;
  std::uint64_t next_id_ = 1;
  std::uint64_t owner_ = 0;                 // connection id of the owner; 0 = none
  std::map<std::uint64_t, int> in_flight_;  // asynchronous calls per connection id
  bool stopped_ = false;
};

}  // namespace avenor::host
