// A scripted control server for the client's unit tests: one Unix socket,
// one connection at a time, served by a thread. For each request line the
// handler decides what goes back (a result, an error, notifications, a
// close, or nothing at all).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace avenor::host::test {

class FakeControlServer {
 public:
  struct Connection {
    int fd = -1;
    bool closed = false;
    void send_raw(const std::string& bytes) {
      std::size_t done = 0;
      while (done < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) return;  // the client went away; the test checks what it saw
        done += static_cast<std::size_t>(n);
      }
    }
    void send(const boost::json::value& frame) { send_raw(boost::json::serialize(frame) + "\n"); }
    void reply(const boost::json::object& request, boost::json::value result) {
      send(boost::json::object{{"jsonrpc", "2.0"}, {"id", request.at("id")}, {"result", result}});
    }
    void reply_error(const boost::json::object& request, int code, const std::string& message) {
      send(boost::json::object{{"jsonrpc", "2.0"},
                               {"id", request.at("id")},
                               {"error", {{"code", code}, {"message", message}}}});
    }
    void event(boost::json::object params) {
      send(boost::json::object{{"jsonrpc", "2.0"}, {"method", "event"}, {"params", params}});
    }
    void close() {
      ::shutdown(fd, SHUT_RDWR);
      closed = true;
    }
  };
  using Handler = std::function<void(Connection&, const boost::json::object& request)>;

  FakeControlServer(std::string path, Handler handler)
      : path_(std::move(path)), handler_(std::move(handler)) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (listener_ < 0 || path_.size() >= sizeof(addr.sun_path))
      throw std::runtime_error("fake server: bad socket path " + path_);
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listener_, 8) != 0)
      throw std::runtime_error("fake server: bind/listen failed: " + std::string(strerror(errno)));
    thread_ = std::thread([this] { serve(); });
  }
  FakeControlServer(const FakeControlServer&) = delete;
  FakeControlServer& operator=(const FakeControlServer&) = delete;
  ~FakeControlServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
    ::unlink(path_.c_str());
  }

  const std::string& path() const { return path_; }
  std::vector<boost::json::object> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  // Polls in short slices so the destructor's stop flag is seen promptly.
  bool wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    while (!stop_) {
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  void serve() {
    while (wait_readable(listener_)) {
      Connection conn{::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC)};
      if (conn.fd < 0) continue;
      std::string buffer;
      char chunk[4096];
      while (!conn.closed && wait_readable(conn.fd)) {
        const ssize_t n = ::read(conn.fd, chunk, sizeof chunk);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
        std::size_t newline;
        while (!conn.closed && (newline = buffer.find('\n')) != std::string::npos) {
          boost::json::object request = boost::json::parse(buffer.substr(0, newline)).as_object();
          buffer.erase(0, newline + 1);
          {
            std::lock_guard lock(mutex_);
            requests_.push_back(request);
          }
          handler_(conn, request);
        }
      }
      ::close(conn.fd);
    }
  }

  std::string path_;
  Handler handler_;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<boost::json::object> requests_;
  std::thread thread_;
};

}  // namespace avenor::host::test
