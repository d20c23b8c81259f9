// One client exchange with a server running on the same io_context: connect,
// send the request bytes, half-close, and collect whatever comes back until
// the server closes or a deadline passes. Used by the control socket and HTTP
// debug targets to drive the real servers through real sockets.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace avenor::fuzz {

// `socket` is connected; returns the bytes read before EOF or `limit`.
template <typename Socket>
std::string exchange(boost::asio::io_context& io, Socket& socket, std::string_view request,
                     std::chrono::milliseconds limit) {
  std::string response;
  bool done = false;
  boost::asio::async_write(socket, boost::asio::buffer(request),
                           [&](boost::system::error_code ec, std::size_t) {
                             boost::system::error_code ignored;
                             if (!ec) socket.shutdown(Socket::shutdown_send, ignored);
                           });
  boost::asio::async_read(socket, boost::asio::dynamic_buffer(response, 1u << 24),
                          [&](boost::system::error_code, std::size_t) { done = true; });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(10));
  boost::system::error_code ignored;
  socket.close(ignored);
  // Let the read's cancellation run before `response` goes away.
  while (!done) io.run_one_for(std::chrono::milliseconds(10));
  return response;
}

// Runs ready handlers for a moment, e.g. so a server notices a closed peer.
inline void settle(boost::asio::io_context& io, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline && io.poll() > 0) {
  }
}

}  // namespace avenor::fuzz
