// MCP over stdio as Claude Code speaks it: newline-delimited JSON-RPC 2.0
// messages, one per line, no Content-Length headers.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <string_view>

namespace avenor::host::claude_channel {

// The longest line read from the MCP client (Claude's messages are small; a
// runaway peer must not grow memory without bound).
inline constexpr std::size_t kMaxMcpLine = 4 * 1024 * 1024;

// Writes whole messages to a descriptor, one write per line. Throws
// std::system_error when the descriptor fails (the client went away).
class McpWriter {
 public:
  explicit McpWriter(int fd) : fd_(fd) {}
  void send(const boost::json::object& message) const;
  void result(const boost::json::value& id, boost::json::value result) const;
  void error(const boost::json::value& id, int code, std::string_view message) const;
  void notify(std::string_view method, boost::json::object params) const;

 private:
  int fd_;
};

// JSON-RPC error codes used by the sidecar.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;

}  // namespace avenor::host::claude_channel
