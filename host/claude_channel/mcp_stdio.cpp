#include "claude_channel/mcp_stdio.hpp"

#include <boost/json.hpp>
#include <string>

#include "util/atomic_file.hpp"

namespace avenor::host::claude_channel {

namespace bj = boost::json;

void McpWriter::send(const bj::object& message) const {
  std::string line = bj::serialize(message);
  line += '\n';
  write_all(fd_, line, "write MCP message to stdout");
}

void McpWriter::result(const bj::value& id, bj::value result) const {
  send({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
}

void McpWriter::error(const bj::value& id, int code, std::string_view message) const {
  send({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
}

void McpWriter::notify(std::string_view method, bj::object params) const {
  send({{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}});
}

}  // namespace avenor::host::claude_channel
