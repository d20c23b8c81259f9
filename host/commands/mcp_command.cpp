#include "commands/mcp_command.hpp"

#include <pwd.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"
#include "mcp/http_transport.hpp"
#include "mcp/mcp_server.hpp"
#include "mcp/stdio_transport.hpp"
#include "mcp/supervisor_hub.hpp"
#include "mcp/tool_runner.hpp"
#include "process/signals.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace mcp;

namespace {

struct McpFlags {
  std::string transport = "stdio";
  std::string addr = "127.0.0.1:3748";
  std::string auth_token;
  std::string control_socket;
  std::string supervisor_socket;
  bool no_autostart = false;
  std::chrono::nanoseconds idle_timeout = std::chrono::minutes(30);
  std::chrono::nanoseconds max_wait = std::chrono::seconds(50);
};

void define_flags(GoFlagSet& f, McpFlags& o) {
  f.string_var(o.transport, "transport", o.transport, "`stdio` or http");
  f.string_var(o.addr, "addr", o.addr, "http only: loopback `host:port` to listen on");
  f.string_var(o.auth_token, "auth-token", "",
               "http only: bearer `token` clients must send (default $MCP_AUTH_TOKEN)");
  f.string_var(o.control_socket, "control-socket", "",
               "socket `path` of the auto-started supervisor "
               "(default ~/.avenor/sockets/avenor-mcp-<pid>.sock)");
  f.string_var(o.supervisor_socket, "supervisor-socket", "",
               "use the supervisor at this socket `path`; disables autostart");
  f.bool_var(o.no_autostart, "no-autostart", false, "never start a supervisor");
  f.duration_var(o.idle_timeout, "idle-timeout", o.idle_timeout,
                 "passed to the auto-started supervisor");
  f.duration_var(o.max_wait, "max-wait", o.max_wait,
                 "longest wait of one tool call; then it returns timed_out:true");
}

std::string home_dir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr)
    return pw->pw_dir;
  return "/tmp";
}

fs::path temp_dir() {
  const char* tmp = std::getenv("TMPDIR");
  return (tmp != nullptr && *tmp != '\0') ? fs::path(tmp) : fs::path("/tmp");
}

}  // namespace

int mcp_main(const std::vector<std::string>& args, std::ostream& err) {
  McpFlags o;
  GoFlagSet flags("mcp");
  define_flags(flags, o);
  flags.set_usage_header("Usage: avenor mcp [flags]\n");
  const UsageReporter usage("mcp", 1, std::cout, err);
  if (auto parsed = flags.parse(args); !parsed.ok()) return usage.parse_failure(flags, parsed);
  auto fail = [&](const std::string& message) {
    err << "avenor mcp: " << message << "\n";
    return 1;
  };
  if (!flags.args().empty()) return fail("unexpected argument \"" + flags.args().front() + "\"");
  if (o.transport != "stdio" && o.transport != "http")
    return fail("--transport must be stdio or http, not \"" + o.transport + "\"");
  if (o.no_autostart && o.supervisor_socket.empty())
    return fail("--no-autostart requires --supervisor-socket");
  if (o.max_wait <= std::chrono::nanoseconds::zero()) return fail("--max-wait must be > 0");
  if (o.idle_timeout < std::chrono::nanoseconds::zero()) return fail("--idle-timeout must be >= 0");
  if (o.auth_token.empty()) {
    if (const char* t = std::getenv("MCP_AUTH_TOKEN")) o.auth_token = t;
  }
  if (o.transport == "http" && o.auth_token.empty())
    return fail("--transport http requires a bearer token (--auth-token or MCP_AUTH_TOKEN)");

  HubOptions hub_options;
  hub_options.control_socket = o.control_socket.empty()
                                   ? fs::path(home_dir()) / ".avenor" / "sockets" /
                                         ("avenor-mcp-" + std::to_string(::getpid()) + ".sock")
                                   : fs::path(o.control_socket);
  hub_options.supervisor_socket = o.supervisor_socket;
  hub_options.autostart = o.supervisor_socket.empty();
  hub_options.idle_timeout = o.idle_timeout;
  McpSettings settings;
  settings.max_wait = std::chrono::duration_cast<std::chrono::milliseconds>(o.max_wait);
  std::error_code ec;
  settings.tmp_dir = fs::absolute(temp_dir(), ec);

  asio::io_context io;
  SupervisorHub hub(io, hub_options);
  ToolRunner tools(hub, settings);
  McpServer server(tools);
  int exit_code = 0;

  // Closing: waits end, a supervisor this process started is shut down.
  auto close_down = [&]() -> asio::awaitable<void> {
    tools.end_waits();
    co_await hub.close();
  };

  if (!o.supervisor_socket.empty()) {
    std::string problem;
    bool connected = false;
    asio::co_spawn(io, hub.connect_eagerly(), [&](std::exception_ptr e) {
      connected = true;
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        problem = x.what();
      }
    });
    // Only until connected: the link's reader stays pending for later.
    while (!connected && io.run_one() > 0) {
    }
    if (!problem.empty()) return fail(problem);
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  unblock_termination_signals();  // one that came during setup is handled now
  std::optional<McpHttpServer> http;
  if (o.transport == "http") {
    http.emplace(
        io,
        [&server](std::string text, Notify notify) {
          return server.handle_text(std::move(text), std::move(notify));
        },
        o.auth_token);
    try {
      http->start(o.addr);
    } catch (const std::exception& e) {
      return fail(std::string("--addr: ") + e.what());
    }
    const auto ep = http->local_endpoint();
    const std::string host =
        ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
    err << "avenor mcp: listening on http://" << host << ":" << ep.port() << "/mcp" << std::endl;
    signals.async_wait([&](boost::system::error_code e, int) {
      if (e) return;
      http->stop();
      asio::co_spawn(io, close_down(), [&](std::exception_ptr) { io.stop(); });
    });
  } else {
    StdioTransport stdio(server, STDIN_FILENO, STDOUT_FILENO);
    auto serve = [&]() -> asio::awaitable<void> {
      const bool ok = co_await stdio.serve([&] { tools.end_waits(); });
      if (!ok) exit_code = 0;  // the client went away: not an error of ours
      signals.cancel();
      co_await close_down();
      io.stop();
    };
    signals.async_wait([&](boost::system::error_code e, int) {
      if (e) return;
      asio::co_spawn(io, close_down(), [&](std::exception_ptr) { io.stop(); });
    });
    asio::co_spawn(io, serve(), asio::detached);
    io.run();
    return exit_code;
  }
  io.run();
  return exit_code;
}

}  // namespace avenor::host
