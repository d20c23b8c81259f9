#include "util/accept_guard.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>

#include "util/diagnostics.hpp"

namespace avenor::host {

namespace asio = boost::asio;

namespace {

UniqueFd open_spare() { return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

}  // namespace

AcceptGuard::AcceptGuard(asio::any_io_executor ex, std::string what, std::size_t max_connections,
                         Refusal refusal)
    : pause_(std::move(ex)),
      what_(std::move(what)),
      max_(max_connections),
      refusal_(std::move(refusal)),
      spare_(open_spare()) {}

bool AcceptGuard::admit(int fd, std::size_t live) {
  backoff_ = std::chrono::milliseconds(0);
  if (!spare_) spare_ = open_spare();  // lost to an earlier failed reopen
  if (live < max_) return true;
  refuse(fd, "too many connections (max " + std::to_string(max_) + ")");
  return false;
}

void AcceptGuard::refuse(int fd, const std::string& reason) const {
  // Unread request bytes would turn the close into a TCP reset that can
  // overtake the answer; take what has already arrived.
  std::array<char, 4096> sink{};
  while (::recv(fd, sink.data(), sink.size(), MSG_DONTWAIT) > 0) {
  }
  const std::string text = refusal_ ? refusal_(reason) : std::string();
  if (!text.empty()) {
    // Best effort: a fresh socket's send buffer takes a short answer whole.
    [[maybe_unused]] ssize_t n = ::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  ::shutdown(fd, SHUT_WR);
}

void AcceptGuard::shed(int listen_fd) {
  spare_.reset();  // one free slot: enough to accept and close, one at a time
  for (int i = 0; i < kMaxShed; ++i) {
    // The listening socket may be in blocking mode: accept only what is queued.
    pollfd queued{listen_fd, POLLIN, 0};
    if (::poll(&queued, 1, 0) != 1 || (queued.revents & POLLIN) == 0) break;
    UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn) break;  // still no slot, or the client gave up meanwhile
    refuse(conn.get(), "too many open files");
  }
  spare_ = open_spare();
}

asio::awaitable<void> AcceptGuard::pause_after(boost::system::error_code ec, int listen_fd) {
  if (backoff_.count() == 0) {
    diagnostics::warn(what_ + ": accept: " + ec.message() +
                      "; refusing connections until descriptors are free");
    backoff_ = kFirstPause;
  } else {
    backoff_ = std::min(backoff_ * 2, kMaxPause);
  }
  if (out_of_descriptors(ec) && spare_) shed(listen_fd);
  pause_.expires_after(backoff_);
  boost::system::error_code ignored;
  co_await pause_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

std::string http_refusal(const std::string& reason) {
  const std::string body = reason + "\n";
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace avenor::host
