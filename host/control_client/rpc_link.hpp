// An asynchronous JSON-RPC 2.0 client to a control socket (control.md §2):
// many calls in flight, event notifications delivered as they arrive, all on
// the caller's single event loop. The supervisor links to its runtimes with it
// (§10.1); `avenor mcp` links to its supervisors (§11.2).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace avenor::host {

// The server answered with an error object.
class LinkCallError : public std::runtime_error {
 public:
  LinkCallError(int code, std::string message, boost::json::value data);
  int code() const { return code_; }
  const boost::json::value& data() const { return data_; }

 private:
  int code_;
  boost::json::value data_;
};

// The transport failed: dial error, connection closed, call timeout, a
// malformed or oversize inbound frame (either closes the link).
class LinkClosedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RpcLink : public std::enable_shared_from_this<RpcLink> {
 public:
  // A longer inbound line closes the link (it cannot be a sane frame).
  static constexpr std::size_t kMaxLine = 64 * 1024 * 1024;

  // Connects within `timeout` (zero: no limit); throws
  // LinkClosedError("dial <path>: <reason>").
  static boost::asio::awaitable<std::shared_ptr<RpcLink>> connect(
      boost::asio::any_io_executor ex, std::string path, std::chrono::milliseconds timeout);

  // Use connect(); public only for make_shared.
  RpcLink(boost::asio::local::stream_protocol::socket socket, std::string path);
  ~RpcLink();
  RpcLink(const RpcLink&) = delete;
  RpcLink& operator=(const RpcLink&) = delete;

  // `params` of every "event" notification, in arrival order, called
  // synchronously from the read loop (also while calls are outstanding). A
  // handler may close the link; an exception from it closes the link.
  void on_event(std::function<void(boost::json::object params)> handler);
  // Called exactly once when the connection ends (any cause, including
  // close()), from the event loop, never from inside close(); registered
  // after the end, it is still called (posted). Dropping the last reference
  // does not end the link while it is open: call close().
  void on_closed(std::function<void()> handler);

  // Sends one request (ids allocated by the link; many may be outstanding)
  // and completes with its `result`. Throws LinkCallError for an error
  // object, LinkClosedError when the link ends first or on timeout
  // ("timeout after <d>"; a zero timeout means none). If the awaiting
  // coroutine is cancelled it throws system_error(operation_aborted).
  boost::asio::awaitable<boost::json::value> call(
      std::string method, boost::json::object params,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Idempotent; pending calls fail with LinkClosedError.
  void close();
  bool closed() const { return closed_; }

  const std::string& path() const { return path_; }

 private:
  struct Pending;

  void start();
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  void dispatch(std::string_view line);
  void send(std::string frame);
  void shut(const std::string& why);

  boost::asio::local::stream_protocol::socket socket_;
  std::string path_;
  std::function<void(boost::json::object)> on_event_;
  std::function<void()> on_closed_;
  std::map<std::int64_t, std::shared_ptr<Pending>> pending_;
  std::int64_t next_id_ = 1;
  std::deque<std::string> outbox_;
  boost::asio::steady_timer write_signal_;
  bool closed_ = false;
  bool closed_notified_ = false;  // on_closed has been reported
  std::string close_reason_;
};

}  // namespace avenor::host
