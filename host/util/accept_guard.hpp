// AcceptGuard: keeps a listener's accept loop from spinning or hanging its
// clients when descriptors run out, and caps its live connections
// (issue 15 item 7). One per listener, used only from its accept loop:
//
//   auto socket = co_await acceptor.async_accept(redirect_error(use_awaitable, ec));
//   if (stopping || ec == operation_aborted) break;
//   if (ec) { co_await guard.pause_after(ec, acceptor.native_handle()); continue; }
//   if (!guard.admit(socket.native_handle(), live_count)) continue;  // refused
//
// Out of descriptors (EMFILE/ENFILE), the pending connection stays queued
// and the listener stays readable, so retrying at once would spin. The guard
// holds one spare descriptor: it closes it, accepts the queued connections,
// tells each why and closes it (a prompt answer instead of a hang), reopens
// the spare, then waits 50 ms, doubling to 1 s while the errors go on.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "util/unique_fd.hpp"

namespace avenor::host {

class AcceptGuard {
 public:
  static constexpr std::chrono::milliseconds kFirstPause{50};
  static constexpr std::chrono::milliseconds kMaxPause{1000};
  // At most this many queued connections are shed per accept error.
  static constexpr int kMaxShed = 256;

  // The bytes a refused client gets before the close, for a reason such as
  // "too many connections (max 64)"; may return "" for a bare close.
  using Refusal = std::function<std::string(const std::string& reason)>;

  // `what` names the listener in the one warning per error burst.
  AcceptGuard(boost::asio::any_io_executor ex, std::string what, std::size_t max_connections,
              Refusal refusal);
  AcceptGuard(const AcceptGuard&) = delete;
  AcceptGuard& operator=(const AcceptGuard&) = delete;

  std::size_t max_connections() const { return max_; }
  // The pause the latest error waited; 0 once a connection was accepted.
  std::chrono::milliseconds backoff() const { return backoff_; }

  // A connection was accepted while `live` others are open. False when the
  // listener is full: the client was sent the refusal and the caller drops
  // (closes) the socket. Either way the error backoff starts over.
  bool admit(int fd, std::size_t live);

  // After a failed accept on `listen_fd`: sheds the queue when out of
  // descriptors, then waits. Completes early when cancel() is called.
  boost::asio::awaitable<void> pause_after(boost::system::error_code ec, int listen_fd);

  // The listener is stopping: ends a pause now.
  void cancel() { pause_.cancel(); }

 private:
  void refuse(int fd, const std::string& reason) const;
  void shed(int listen_fd);

  boost::asio::steady_timer pause_;
  std::string what_;
  std::size_t max_;
  Refusal refusal_;
  UniqueFd spare_;
  std::chrono::milliseconds backoff_{0};  // 0: no error since the last accept
};

// An HTTP/1.1 503 with `reason` as its text body and Connection: close.
std::string http_refusal(const std::string& reason);

}  // namespace avenor::host
