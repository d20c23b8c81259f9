#include "commands/stable_command.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"
#include "control/control_environment.hpp"
#include "control/control_server.hpp"
#include "http_debug/debug_access.hpp"
#include "http_debug/http_debug_server.hpp"
#include "process/signals.hpp"
#include "stable/registry.hpp"
#include "stable/runtime.hpp"
#include "stable/stable_debug_target.hpp"
#include "stable/stable_methods.hpp"
#include "stable/state_files.hpp"
#include "stable/supervisor.hpp"
#include "util/duration.hpp"
#include "util/run_id.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

void define_flags(GoFlagSet& f, StableOptions& o, std::string& socket, std::string& state_dir) {
  f.string_var(socket, "control-socket", "", "Unix control socket `path` (required)");
  f.string_var(state_dir, "state-dir", "",
               "runtime files and registry (default $TMPDIR/avenor-stable/<socket key>)");
  f.string_var(o.http_debug, "http-debug", "", "loopback HTTP/SSE debug adapter host:port");
  f.string_var(o.http_debug_token_file, "http-debug-token-file", "",
               "write the HTTP debug token to this `file` (mode 0600)");
  f.int_var(o.max_runtimes, "max-runtimes", o.max_runtimes, "limit on active runtimes");
  f.int64_var(o.idempotency_capacity, "idempotency-capacity", o.idempotency_capacity,
              "idempotency keys kept (must be > 0)");
  f.duration_var(o.idle_timeout, "idle-timeout", o.idle_timeout,
                 "shut down after this long with no active runtime (0 = off)");
  f.duration_var(o.shutdown_timeout, "shutdown-timeout", o.shutdown_timeout,
                 "graceful shutdown wait (0 = no limit)");
  f.duration_var(o.parked_timeout, "parked-timeout", o.parked_timeout,
                 "how long a parked runtime waits for a follow-up (0 = until shutdown/cancel)");
  f.duration_var(o.permission_claim_timeout, "permission-claim-timeout", o.permission_claim_timeout,
                 "how long supervisor clients have to answer a permission (0 = until answered)");
}

}  // namespace

int stable_main(const std::vector<std::string>& args, std::ostream& err) {
  StableOptions o;
  std::string socket;
  std::string state_dir;
  GoFlagSet flags("stable");
  define_flags(flags, o, socket, state_dir);
  flags.set_usage_header("Usage: avenor stable --control-socket <path> [flags]\n");
  const UsageReporter usage("stable", 1, std::cout, err);
  if (auto parsed = flags.parse(args); !parsed.ok()) return usage.parse_failure(flags, parsed);
  if (!flags.args().empty())
    return usage.error("unexpected argument \"" + flags.args().front() + "\"");
  if (socket.empty()) return usage.error("--control-socket is required");
  std::error_code ec;
  o.control_socket = fs::absolute(socket, ec);
  auto start_failed = [&](const std::string& message) {
    err << "avenor stable: " << message << "\n";
    write_tombstone(o.control_socket, "start_failed", err);
    return 1;
  };
  if (o.idempotency_capacity <= 0) return start_failed("--idempotency-capacity must be > 0");
  if (o.max_runtimes <= 0) return start_failed("--max-runtimes must be > 0");
  if (!o.http_debug_token_file.empty() && o.http_debug.empty())
    return start_failed("--http-debug-token-file needs --http-debug");

  // §10.2 startup.
  remove_tombstone(o.control_socket);
  const std::string identity = take_identity_token();
  o.state_dir =
      state_dir.empty() ? default_state_dir(o.control_socket) : fs::absolute(state_dir, ec);
  RegistryLoad loaded;
  try {
    prepare_state_dir(o.state_dir);
    loaded = load_registry(o.state_dir / "registry.json");
  } catch (const std::exception& e) {
    return start_failed(std::string("state directory: ") + e.what());
  }
  for (const auto& w : loaded.warnings) err << "avenor stable: " << w << "\n";
  Registry registry = loaded.registry.value_or(Registry{});
  // Runtime directories a corrupt registry no longer names are listed as
  // ended; their ids are never reused. Without a registry (an orderly
  // shutdown removed it, and its tombstones with it) they are only skipped.
  const bool registry_lost = !loaded.registry && !loaded.warnings.empty();
  std::vector<std::string> salvaged;
  for (const auto& id : runtime_dirs(o.state_dir)) {
    bool known = false;
    for (const auto& r : registry.runtimes) known = known || r.runtime_id == id;
    if (!known && registry_lost) salvaged.push_back(id);
    if (!known && !registry_lost) {
      // A failed spawn leaves its directory: skip the id, list nothing.
      registry.next_runtime = std::max(registry.next_runtime, runtime_number(id) + 1);
    }
  }
  const std::string run_id =
      registry.supervisor_run_id.empty() ? generate_run_id() : registry.supervisor_run_id;

  asio::io_context io;
  Supervisor supervisor(io, o, run_id, PluginCatalog::discover(), err);
  supervisor.set_identity_token(identity);
  std::optional<ControlServer> server;
  std::optional<StableDebugTarget> debug_target;
  std::optional<HttpDebugServer> http_debug;
  std::optional<DebugTokenFile> token_file;  // removed again at exit
  bool finished = false;
  asio::steady_timer exit_timer(io);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  unblock_termination_signals();  // one that came during setup is handled now

  // After a shutdown pass: adapters and socket go, the tombstone stays.
  auto finish = [&] {
    if (finished) return;
    finished = true;
    signals.cancel();
    if (http_debug) http_debug->stop();
    if (server) server->stop();
    write_tombstone(o.control_socket, supervisor.shutdown_reason(), err);
    // Connections get their grace to flush (the shutdown reply), then stop.
    exit_timer.expires_after(std::chrono::milliseconds(700));
    exit_timer.async_wait([&](boost::system::error_code) { io.stop(); });
  };
  auto shut_down = [&](std::string reason) {
    asio::co_spawn(io, supervisor.shutdown(false, std::move(reason)),
                   [&](std::exception_ptr) { finish(); });
  };
  StableMethods methods(supervisor, finish);

  try {
    server.emplace(io, o.control_socket, methods);
  } catch (const std::exception& e) {
    return start_failed(std::string("start control server: ") + e.what());
  }
  if (!o.http_debug.empty()) {
    debug_target.emplace(io, supervisor);
    http_debug.emplace(io, *debug_target);
    try {
      http_debug->start(o.http_debug);
    } catch (const std::exception& e) {
      server->stop(std::chrono::milliseconds(0));
      return start_failed(std::string("--http-debug: ") + e.what());
    }
    try {
      token_file = announce_debug_access(*http_debug, o.http_debug_token_file,
                                         ::isatty(STDERR_FILENO) != 0, err);
    } catch (const std::exception& e) {
      http_debug->stop();
      server->stop(std::chrono::milliseconds(0));
      return start_failed(std::string("--http-debug-token-file: ") + e.what());
    }
  }
  signal_control_ready();
  server->start();

  std::function<void()> watch_signals = [&] {
    signals.async_wait([&](boost::system::error_code e, int) {
      if (e) return;
      shut_down("signal");
      watch_signals();
    });
  };
  watch_signals();
  supervisor.on_idle([&] { shut_down("idle"); });

  asio::co_spawn(io, supervisor.adopt(std::move(registry), std::move(salvaged)),
                 [&](std::exception_ptr ex) {
                   if (ex) {
                     try {
                       std::rethrow_exception(ex);
                     } catch (const std::exception& e) {
                       err << "avenor stable: re-adopt: " << e.what() << "\n";
                     }
                   }
                 });
  err << "avenor stable: child question timeout "
      << format_go_duration(Supervisor::kQuestionTimeout) << " (default)\n";

  try {
    io.run();
  } catch (const std::exception& e) {
    err << "avenor stable: " << e.what() << "\n";
    if (server) server->stop(std::chrono::milliseconds(0));
    write_tombstone(o.control_socket, "crashed", err);
    return 1;
  }
  return 0;
}

}  // namespace avenor::host
