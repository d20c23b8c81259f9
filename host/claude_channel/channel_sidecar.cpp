#include "claude_channel/channel_sidecar.hpp"

#include <unistd.h>

#include <algorithm>
#include <avenor/sdk/claude_mcp_config.hpp>
#include <avenor/sdk/json.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <stdexcept>
#include <string>
#include <system_error>

#include "claude_channel/control_rendering.hpp"
#include "claude_channel/mcp_stdio.hpp"
#include "claude_channel/sidecar_tools.hpp"
#include "util/diagnostics.hpp"

namespace avenor::host::claude_channel {

namespace asio = boost::asio;
namespace bj = boost::json;
namespace http = boost::beast::http;

// Everything that lives for one run(): the loop, the writer and the state the
// coroutines share. Coroutines hold a reference to it; the io_context is
// destroyed (and with it every suspended coroutine) before the Loop is.
struct ChannelSidecar::Loop {
  Loop(const SidecarConfig& cfg, const LoopbackHttpClient& client, int out_fd)
      : config(cfg), http(client), writer(out_fd) {}

  const SidecarConfig& config;
  const LoopbackHttpClient& http;
  McpWriter writer;
  bool polling = false;
  int exit_code = 0;
  std::string last_poll_problem;
  std::string last_keepalive_problem;
  asio::io_context io;  // last member: destroyed first

  // Sends one message; a dead client ends the run.
  template <typename Fn>
  void output(Fn&& write) {
    try {
      write(writer);
    } catch (const std::system_error& e) {
      diagnostics::error(std::string("claude-channel: ") + e.what());
      exit_code = 1;
      io.stop();
    }
  }

  bj::object credentials() const { return {{"run_id", config.run_id}, {"token", config.token}}; }

  asio::awaitable<HttpReply> relay_post(std::string route, bj::object body) {
    bj::object full = credentials();
    for (auto& kv : body) full[kv.key()] = std::move(kv.value());
    co_return co_await http.request(http::verb::post, std::move(route), bj::serialize(full));
  }

  asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
  }

  // Logs a relay problem once until it changes (a relay that is down would
  // otherwise fill Claude's MCP log every second).
  static void note(std::string& last, const std::string& problem) {
    if (problem == last) return;
    last = problem;
    if (!problem.empty()) diagnostics::warn("claude-channel: " + problem);
  }

  static std::string status_problem(std::string_view route, const HttpReply& reply) {
    return "relay answered " + std::to_string(reply.status) + " to " + std::string(route) + ": " +
           reply.body.substr(0, 200);
  }

  static bool ok(const HttpReply& reply) { return reply.status >= 200 && reply.status < 300; }

  // /register until it succeeds, then /heartbeat every interval.
  asio::awaitable<void> keepalive() {
    bool registered = false;
    for (;;) {
      const std::string route = registered ? "/heartbeat" : "/register";
      bj::object body;
      if (!registered) {
        body = {{"pid", static_cast<std::int64_t>(::getpid())},
                {"server_name", sdk::claude_mcp::channel_server_name(config.run_id)}};
      }
      std::string problem;
      try {
        const HttpReply reply = co_await relay_post(route, std::move(body));
        if (ok(reply)) {
          registered = true;
        } else {
          problem = status_problem(route, reply);
        }
      } catch (const HttpTransportError& e) {
        problem = std::string("relay unreachable: ") + e.what();
      }
      note(last_keepalive_problem, problem);
      co_await pause(registered ? config.heartbeat_interval
                                : std::min(config.heartbeat_interval, config.poll_retry_delay));
    }
  }

  void deliver(const bj::value& message) {
    const bj::object* o = message.if_object();
    if (o == nullptr) {
      diagnostics::warn("claude-channel: ignoring a control message that is not an object");
      return;
    }
    try {
      McpNotification n = render_control_message(*o, config.run_id);
      output([&](const McpWriter& w) { w.notify(n.method, std::move(n.params)); });
    } catch (const std::invalid_argument& e) {
      diagnostics::warn(std::string("claude-channel: ignoring control message: ") + e.what());
    }
  }

  // Long-polls /poll-control and turns each message into a notification.
  asio::awaitable<void> poll_control() {
    for (;;) {
      std::string problem;
      try {
        const HttpReply reply = co_await relay_post("/poll-control", {});
        if (ok(reply)) {
          boost::system::error_code ec;
          const bj::value parsed = bj::parse(reply.body, ec);
          const bj::array* list = nullptr;
          if (!ec && parsed.is_array()) list = &parsed.get_array();
          if (!ec && parsed.is_object())
            list = sdk::json::find_array(parsed.get_object(), "messages");
          if (list == nullptr) {
            problem = "relay sent an unreadable /poll-control answer: " + reply.body.substr(0, 200);
          } else {
            for (const bj::value& m : *list) deliver(m);
          }
        } else {
          problem = status_problem("/poll-control", reply);
        }
      } catch (const HttpTransportError& e) {
        problem = std::string("relay unreachable: ") + e.what();
      }
      note(last_poll_problem, problem);
      if (!problem.empty()) co_await pause(config.poll_retry_delay);
    }
  }

  static bj::object text_result(std::string text, bool is_error) {
    bj::object r{{"content", bj::array{bj::object{{"type", "text"}, {"text", std::move(text)}}}}};
    if (is_error) r["isError"] = true;
    return r;
  }

  asio::awaitable<void> call_tool(bj::value id, std::string name, bj::object arguments) {
    auto prepared = prepare_tool_call(name, arguments);
    if (std::holds_alternative<UnknownTool>(prepared)) {
      output([&](const McpWriter& w) { w.error(id, kInvalidParams, "Unknown tool: " + name); });
      co_return;
    }
    if (auto* bad = std::get_if<ToolArgumentError>(&prepared)) {
      output([&](const McpWriter& w) { w.result(id, text_result(bad->message, true)); });
      co_return;
    }
    RelayCall call = std::get<RelayCall>(std::move(prepared));
    bj::object result;
    try {
      const HttpReply reply = co_await relay_post(call.route, std::move(call.body));
      result = ok(reply) ? text_result(call.done_text, false)
                         : text_result("avenor " + status_problem(call.route, reply), true);
    } catch (const HttpTransportError& e) {
      result = text_result(std::string("avenor relay unreachable: ") + e.what(), true);
    }
    output([&](const McpWriter& w) { w.result(id, std::move(result)); });
  }

  asio::awaitable<void> forward_permission_request(bj::object params) {
    bj::object body;
    for (const char* key : {"request_id", "tool_name", "description", "input_preview"}) {
      const bj::value* v = params.if_contains(key);
      body[key] = v != nullptr ? *v : bj::value("");
    }
    try {
      const HttpReply reply = co_await relay_post("/permission_request", std::move(body));
      if (!ok(reply))
        diagnostics::warn("claude-channel: " + status_problem("/permission_request", reply));
    } catch (const HttpTransportError& e) {
      diagnostics::warn(std::string("claude-channel: relay unreachable: ") + e.what());
    }
  }

  bj::object initialize_result() const {
    return {{"protocolVersion", "2024-11-05"},
            {"serverInfo", {{"name", "avenor"}, {"version", AVENOR_VERSION}}},
            {"capabilities",
             {{"experimental",
               {{"claude/channel", bj::object{}}, {"claude/channel/permission", bj::object{}}}},
              {"tools", bj::object{}}}},
            {"instructions", sidecar_instructions()}};
  }

  void handle_request(const bj::value& id, std::string_view method, const bj::object& params) {
    if (method == "initialize") {
      output([&](const McpWriter& w) { w.result(id, initialize_result()); });
    } else if (method == "ping") {
      output([&](const McpWriter& w) { w.result(id, bj::object{}); });
    } else if (method == "tools/list") {
      output([&](const McpWriter& w) { w.result(id, bj::object{{"tools", tool_definitions()}}); });
    } else if (method == "tools/call") {
      const std::string name = sdk::json::string_or(params, "name");
      const bj::object* args = sdk::json::find_object(params, "arguments");
      asio::co_spawn(io, call_tool(id, name, args != nullptr ? *args : bj::object{}),
                     asio::detached);
    } else {
      output([&](const McpWriter& w) {
        w.error(id, kMethodNotFound, "Method not found: " + std::string(method));
      });
    }
  }

  void handle_notification(std::string_view method, const bj::object& params) {
    if (method == "notifications/initialized") {
      if (!std::exchange(polling, true)) asio::co_spawn(io, poll_control(), asio::detached);
    } else if (method == kChannelPermissionRequestMethod) {
      asio::co_spawn(io, forward_permission_request(params), asio::detached);
    }
  }

  void handle_line(std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
    boost::system::error_code ec;
    const bj::value message = bj::parse(line, ec);
    if (ec) {
      output([&](const McpWriter& w) { w.error(nullptr, kParseError, "Parse error"); });
      return;
    }
    const bj::object* o = message.if_object();
    const bj::value* method = o != nullptr ? o->if_contains("method") : nullptr;
    if (o == nullptr || (method != nullptr && !method->is_string())) {
      output([&](const McpWriter& w) { w.error(nullptr, kInvalidRequest, "Invalid Request"); });
      return;
    }
    if (method == nullptr) return;  // a response to a request we never send
    const bj::object* params = sdk::json::find_object(*o, "params");
    const bj::object no_params;
    const bj::object& p = params != nullptr ? *params : no_params;
    if (const bj::value* id = o->if_contains("id")) {
      handle_request(*id, method->get_string(), p);
    } else {
      handle_notification(method->get_string(), p);
    }
  }

  asio::awaitable<void> read_input(int in_fd) {
    const int fd = ::dup(in_fd);
    if (fd < 0) {
      diagnostics::error("claude-channel: stdin: " +
                         std::error_code(errno, std::generic_category()).message());
      exit_code = 1;
      io.stop();
      co_return;
    }
    asio::posix::stream_descriptor in(io, fd);
    asio::streambuf buffer(kMaxMcpLine);
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = co_await asio::async_read_until(
          in, buffer, '\n', asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::eof) {
          // A last line without its newline still counts.
          std::string rest(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
          handle_line(rest);
        } else if (ec == asio::error::not_found) {
          diagnostics::error("claude-channel: an MCP message is longer than " +
                             std::to_string(kMaxMcpLine) + " bytes");
          exit_code = 1;
        } else {
          diagnostics::error("claude-channel: read stdin: " + ec.message());
          exit_code = 1;
        }
        io.stop();
        co_return;
      }
      std::string line(asio::buffers_begin(buffer.data()),
                       asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(n - 1));
      buffer.consume(n);
      handle_line(line);
    }
  }
};

ChannelSidecar::ChannelSidecar(SidecarConfig config)
    : config_(std::move(config)), http_(config_.broker, config_.http_timeout) {}

int ChannelSidecar::run(int in_fd, int out_fd) {
  Loop loop(config_, http_, out_fd);
  asio::co_spawn(loop.io, loop.keepalive(), asio::detached);
  asio::co_spawn(loop.io, loop.read_input(in_fd), asio::detached);
  loop.io.run();
  return loop.exit_code;
}

}  // namespace avenor::host::claude_channel
