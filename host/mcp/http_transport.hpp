// The Streamable HTTP transport of `avenor mcp --transport http`
// (control.md §11.1; MCP 2025-06-18 "Streamable HTTP"), stateless: every
// POST /mcp carries one JSON-RPC message and gets its own answer, there is no
// Mcp-Session-Id and no server-initiated GET stream. It is served on the
// process's one Asio loop and only ever binds a loopback address.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mcp/mcp_server.hpp"

namespace avenor::host::mcp {

// Handles the text of one message (McpServer::handle_text): the response
// for a request, nullopt for a notification or response. `notify` may be
// called while it runs; each call is one notification for this request.
using MessageHandler = std::function<boost::asio::awaitable<std::optional<boost::json::object>>(
    std::string text, Notify notify)>;

struct McpHttpState;

class McpHttpServer {
 public:
  // `token` is the bearer token every request must carry; it must not be
  // empty (std::invalid_argument).
  McpHttpServer(boost::asio::io_context& io, MessageHandler handler, std::string token);
  ~McpHttpServer();
  McpHttpServer(const McpHttpServer&) = delete;
  McpHttpServer& operator=(const McpHttpServer&) = delete;

  // Parses, resolves and binds `address` ("host:port", loopback only);
  // throws std::runtime_error with a one-line message (no prefix).
  void start(const std::string& address);
  // The bound address (port 0 → the real port).
  boost::asio::ip::tcp::endpoint local_endpoint() const { return local_; }
  // Closes the listener and every connection now, including ones whose
  // request is still being handled (the handler runs on to its end, its
  // answer is dropped). Idempotent.
  void stop();

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<McpHttpState> state_;
  boost::asio::ip::tcp::endpoint local_;
  bool started_ = false;
};

// The request checks, exposed for their unit tests.

// `Authorization` value "Bearer <token>" (scheme in any case) naming
// `expected`; the token is compared in constant time.
bool bearer_token_matches(std::string_view expected, std::string_view authorization);
// A Host value naming a loopback host: 127.0.0.0/8, [::1], localhost; with or
// without a port.
bool is_loopback_host(std::string_view host);
// An Origin value "http://<loopback host>[:port]".
bool is_loopback_origin(std::string_view origin);

}  // namespace avenor::host::mcp
