// A blocking-style JSON-RPC 2.0 client for a control socket (control.md §2):
// newline-delimited JSON over one Unix stream connection, dialled once.
//
// Built on Boost.Asio with the "run the io_context until a deadline" pattern:
// every blocking call starts asynchronous operations and runs the private
// io_context until they finish or the deadline passes, so a timeout is a
// cancelled operation rather than a second thread.
//
//   RpcClient client("/tmp/run.sock");             // throws TransportError
//   boost::json::value snapshot = client.call("status", std::nullopt);
//   client.call("subscribe", std::nullopt);
//   while (auto event = client.next_event()) ...   // nullopt once the server closed
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace avenor::host::control_client {

// The server answered the call with a JSON-RPC error object.
class CallError : public std::runtime_error {
 public:
  CallError(std::int64_t code, const std::string& message, boost::json::value data)
      : std::runtime_error(message), code_(code), data_(std::move(data)) {}
  std::int64_t code() const { return code_; }
  // `data` of the error object, null when absent.
  const boost::json::value& data() const { return data_; }

 private:
  std::int64_t code_;
  boost::json::value data_;
};

// The call got no answer: dial, write or read failure, timeout, connection
// closed, or a frame that is not JSON-RPC. The connection is closed after it.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  TransportError(const std::string& what, boost::system::error_code dial_error)
      : std::runtime_error(what), dial_error_(dial_error) {}
  // Why connect() failed when the dial itself did (ENOENT, ECONNREFUSED, ...),
  // so a caller can wait for a socket that is not up yet; empty otherwise.
  const boost::system::error_code& dial_error() const { return dial_error_; }

 private:
  boost::system::error_code dial_error_;
};

class RpcClient {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kCallTimeout{30000};
  // Inbound lines are bounded so a runaway peer cannot exhaust memory; events
  // carry tool output, so the bound is generous.
  static constexpr std::size_t kMaxLineBytes = std::size_t{64} << 20;

  // Dials `socket_path` once (no retries) within `timeout`; throws TransportError.
  explicit RpcClient(const std::string& socket_path,
                     std::chrono::milliseconds timeout = kCallTimeout);
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Sends a request (no "params" member when `params` is nullopt) and blocks
  // until the response with its id arrives, at most `timeout` (nullopt: no
  // limit, for a call that waits on purpose, like wait_turn). Returns the
  // `result` (null when absent). `event` notifications read meanwhile are kept
  // for next_event(); other frames are skipped. Throws CallError for an error
  // response, TransportError otherwise.
  boost::json::value call(std::string_view method, const std::optional<boost::json::object>& params,
                          std::optional<std::chrono::milliseconds> timeout = kCallTimeout);

  // The `params` of the next `event` notification, blocking without a
  // deadline; nullopt once the connection is closed (by the server, or by
  // close_from_any_thread()). Throws TransportError on other failures.
  std::optional<boost::json::object> next_event();

  // Thread-safe: closes the connection, so a next_event() blocked in another
  // thread returns nullopt.
  void close_from_any_thread();

 private:
  enum class LineStatus { line, closed, timed_out };
  struct ReadResult {
    LineStatus status = LineStatus::closed;
    std::string line;
  };

  // Runs the io_context until its work is done (true) or `deadline` passes
  // (false: the connection is closed and the aborted handlers have run).
  bool run(std::optional<Clock::time_point> deadline);
  ReadResult read_line(std::optional<Clock::time_point> deadline);
  // Handles one inbound frame; returns true when it is the response to `id`
  // (stored in `response`).
  bool dispatch(const std::string& line, std::optional<std::int64_t> id,
                boost::json::object* response);
  void close_socket();

  // Declared before the socket: the socket must be destroyed first.
  boost::asio::io_context io_;
  boost::asio::local::stream_protocol::socket socket_;
  std::string read_buffer_;
  std::size_t line_start_ = 0;  // first byte of the next line in read_buffer_
  std::size_t scan_from_ = 0;   // bytes before this hold no newline of that line
  std::deque<boost::json::object> events_;
  std::int64_t next_id_ = 1;
  bool closed_ = false;
};

// Dials `socket_path` like RpcClient's constructor, but while the socket does
// not exist yet or refuses connections (a run still starting, or a stale
// file it is about to replace), dials again every 25 ms until `wait` has
// passed (--wait-socket, new). nullptr when it never accepted in time; other
// dial failures, and every failure when `wait` is zero, throw TransportError.
std::unique_ptr<RpcClient> dial_when_accepting(const std::string& socket_path,
                                               std::chrono::nanoseconds wait);

// An error code's text in Go's style ("no such file or directory"), which is
// how the Go implementation's transport errors read.
std::string describe_error(const boost::system::error_code& ec);

}  // namespace avenor::host::control_client
