// The loopback HTTP/SSE debug adapter (`--http-debug host:port`,
// control.md §9), served on the process's one Asio loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "http_debug/debug_target.hpp"

namespace avenor::host {

struct DebugServerState;

class HttpDebugServer {
 public:
  HttpDebugServer(boost::asio::io_context& io, DebugTarget& target);
  ~HttpDebugServer();
  HttpDebugServer(const HttpDebugServer&) = delete;
  HttpDebugServer& operator=(const HttpDebugServer&) = delete;

  // Parses, resolves and binds `address`; throws std::runtime_error with a
  // one-line message (no "avenor: --http-debug: " prefix).
  void start(const std::string& address);
  // The access token (32 hex chars), set by start().
  const std::string& token() const { return token_; }
  // The bound address (port 0 → the real port).
  boost::asio::ip::tcp::endpoint local_endpoint() const { return local_; }
  // Closes the listener and idle connections at once, ends event streams,
  // and gives responses being written up to 2 s before their connections
  // are closed. The target is not called again. Idempotent.
  void stop();

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<DebugServerState> state_;
  std::string token_;
  boost::asio::ip::tcp::endpoint local_;
  bool started_ = false;
};

}  // namespace avenor::host
