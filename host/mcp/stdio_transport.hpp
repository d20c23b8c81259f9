// MCP over stdio (control.md §11.1): one JSON-RPC message per line in and
// out. Every request runs in its own coroutine; responses and notifications
// are written whole, one line each, in the order they are ready. An oversize
// or malformed line gets an error response and the next line is served.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <functional>

#include "mcp/mcp_server.hpp"

namespace avenor::host::mcp {

class StdioTransport {
 public:
  StdioTransport(McpServer& server, int in_fd, int out_fd);

  // Serves until stdin closes, then until the requests in flight have
  // answered (`on_input_end` runs first: it lets waits end early). Returns
  // false when stdout failed (the client is gone).
  boost::asio::awaitable<bool> serve(std::function<void()> on_input_end);

 private:
  boost::asio::awaitable<void> handle(std::string line);
  void write_line(const boost::json::object& message);

  McpServer& server_;
  int in_fd_;
  int out_fd_;
  std::size_t in_flight_ = 0;
  bool output_failed_ = false;
};

}  // namespace avenor::host::mcp
