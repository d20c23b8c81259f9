// The MCP protocol of `avenor mcp` (control.md §11), independent of the
// transport: one JSON-RPC 2.0 message in, at most one response out, with
// notifications (progress) sent while a request runs. The stdio and HTTP
// transports both feed it; every request runs in its own coroutine on the
// process's one event loop, so a long wait never blocks another call.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::host::mcp {

class ToolRunner;

// JSON-RPC error codes the server answers with.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;

// The longest message accepted (a line on stdio, a body over HTTP).
inline constexpr std::size_t kMaxMessageBytes = 4 * 1024 * 1024;

// Sends one notification to the client that sent the request being handled.
using Notify = std::function<void(boost::json::object notification)>;

class McpServer {
 public:
  explicit McpServer(ToolRunner& tools);

  // Handles the text of one message. Returns the response for a request (also
  // an error response with id null for a parse error or a message that is
  // not a request object); nullopt for a notification or a response. Never
  // throws for bad input.
  boost::asio::awaitable<std::optional<boost::json::object>> handle_text(std::string text,
                                                                         Notify notify);

  // The error response a transport sends for a message it could not read
  // whole (a line or body over kMaxMessageBytes).
  static boost::json::object oversize_error();

 private:
  boost::asio::awaitable<boost::json::object> request(boost::json::value id, std::string method,
                                                      boost::json::object params, Notify notify);

  ToolRunner& tools_;
};

}  // namespace avenor::host::mcp
