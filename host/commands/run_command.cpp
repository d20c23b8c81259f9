#include "commands/run_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"
#include "control/control_environment.hpp"
#include "control/control_plane.hpp"
#include "control/control_server.hpp"
#include "control/single_run_methods.hpp"
#include "events/event_pipeline.hpp"
#include "events/event_writer.hpp"
#include "http_debug/debug_access.hpp"
#include "http_debug/http_debug_server.hpp"
#include "http_debug/run_debug_target.hpp"
#include "loop/engine_phase_runner.hpp"
#include "loop/load_limits.hpp"
#include "loop/loop_config.hpp"
#include "loop/loop_runner.hpp"
#include "loop/work_tree.hpp"
#include "plugin_host/plugin_catalog.hpp"
#include "process/signals.hpp"
#include "run/model_lookup.hpp"
#include "run/run_end.hpp"
#include "run/run_engine.hpp"
#include "run/run_options.hpp"
#include "run/sentinel.hpp"
#include "run/thinking.hpp"
#include "util/duration.hpp"
#include "util/read_file.hpp"
#include "util/run_id.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

void define_flags(GoFlagSet& f, RunOptions& o) {
  f.string_var(o.prompt, "prompt", o.prompt, "inline prompt");
  f.string_var(o.prompt_file, "prompt-file", o.prompt_file, "read the prompt from this file");
  f.string_var(o.loop_file, "loop-file", o.loop_file, "multi-phase loop config");
  f.string_var(o.backend, "backend", o.backend, "backend plugin name");
  f.string_var(o.agent, "agent", o.agent, "agent/profile name passed to the backend");
  f.string_var(o.model, "model", o.model, "backend-specific model id");
  f.string_var(o.thinking, "thinking", o.thinking, "off|minimal|low|medium|high|xhigh|max");
  f.string_var(o.label, "label", o.label, "free text stamped as run_label on every event");
  f.string_var(o.run_id, "run-id", o.run_id, "correlation id (default: 16 random hex characters)");
  f.string_var(o.dir, "dir", o.dir, "agent working directory");
  f.string_var(o.resume, "resume", o.resume, "resume this backend session id");
  f.string_var(o.server_url, "server-url", o.server_url,
               "external server endpoint (opencode-http)");
  f.string_var(o.on_event, "on-event", o.on_event, "NDJSON event log (created or truncated)");
  f.string_var(o.sentinel_file, "sentinel-file", o.sentinel_file, "completion sentinel file");
  f.string_var(o.permission_handler, "permission-handler", o.permission_handler, "file:<path>");
  f.bool_var(o.auto_approve, "auto-approve", o.auto_approve,
             "answer ordinary permission requests with allow");
  f.string_var(o.permission_policy, "permission-policy", o.permission_policy,
               "rules that answer permission requests first: `json` inline (starting with {) "
               "or a file holding it");
  f.bool_var(o.approve_reads, "approve-reads", o.approve_reads,
             "allow read and search permission requests (a leading policy rule)");
  f.bool_var(o.deny_all, "deny-all", o.deny_all,
             "reject every permission request the policy does not allow (a final rule)");
  f.duration_var(o.permission_timeout, "permission-timeout", o.permission_timeout,
                 "reject a permission request still unanswered after this long (0 = off)");
  f.string_var(o.permission_timeout_action, "permission-timeout-action",
               o.permission_timeout_action, "reject|cancel: what --permission-timeout does");
  f.string_var(o.control_socket, "control-socket", o.control_socket, "Unix control socket path");
  f.string_var(o.http_debug, "http-debug", o.http_debug,
               "loopback HTTP/SSE debug adapter host:port");
  f.string_var(o.http_debug_token_file, "http-debug-token-file", o.http_debug_token_file,
               "write the HTTP debug token to this `file` (mode 0600)");
  f.duration_var(o.timeout, "timeout", o.timeout, "wall-clock limit for the whole run (0 = off)");
  f.duration_var(o.progress_timeout, "progress-timeout", o.progress_timeout,
                 "per-turn idle limit (0 = off)");
  f.int_var(o.max_retries, "max-retries", o.max_retries,
            "extra attempts after a retryable failure");
  f.duration_var(o.permission_claim_timeout, "permission-claim-timeout", o.permission_claim_timeout,
                 "how long a control client has to answer a permission (0 = until answered)");
  f.string_var(o.runtime_id, "runtime-id", o.runtime_id, "stamp runtime_id on every event");
  f.string_var(o.agent_profile, "agent-profile", o.agent_profile,
               "agent profile passed to the backend");
  f.func_var(
      "parked-timeout",
      "after a successful turn, wait this long for a control prompt (0 = until cancelled)",
      [&o](std::string_view text) -> std::optional<std::string> {
        auto d = parse_go_duration(text);
        if (!d) return duration_error_reason(text);
        o.parked_timeout = *d;
        return std::nullopt;
      },
      false, "duration");
}

// A FIFO would block and /dev/zero never end: a regular file, bounded like a
// loop's prompt_file. Throws FileReadError, a std::system_error.
std::string read_whole_file(const std::string& path) {
  return read_regular_file(path, kMaxLoopInputBytes);
}

std::string environment(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// How the run ended, as the sentinel and the exit code tell it.
struct RunEnd {
  int exit_code = 1;
  std::string session_id;
  std::string stop_reason;   // empty: derived from the exit code
  std::string reason_label;  // REASON= of a BLOCKED sentinel
};

// The loop file with a --prompt/--prompt-file as its "(initial)" pre phase.
LoopConfig prepare_loop(const std::string& path, const std::string& prompt, bool has_prompt) {
  LoopConfig config = *load_loop_config(path);
  if (has_prompt) insert_initial_phase(config, prompt);
  return config;
}

// Writes the sentinel (when asked for) and passes the exit code through.
// It also owns the event log, so a run that fails before the engine exists
// still ends its log with a session.end (new): a stale log of an earlier run
// on the same path must never look like this run's end.
class Finisher {
 public:
  Finisher(const RunOptions& o, std::ostream& err) : o_(o), err_(err) {}

  // The event log (or the discard writer), created or truncated on first
  // use. Throws like EventWriter::open.
  EventWriter& open_log() {
    if (!log_) {
      try {
        log_.emplace(EventWriter::open(o_.on_event));
      } catch (...) {
        log_failed_ = true;
        throw;
      }
      log_->set_run_id(o_.run_id);
      log_->set_run_label(o_.label);
      log_->set_runtime_id(o_.runtime_id);
    }
    return *log_;
  }

  int finish(int exit_code, const std::string& session_id, const std::string& stop_reason,
             const std::string& reason_label = {}) {
    if (!o_.sentinel_file.empty()) {
      SentinelInfo info{exit_code, session_id,
                        stop_reason.empty() ? stop_reason_for_exit(exit_code) : stop_reason,
                        o_.run_id, reason_label};
      write_sentinel(o_.sentinel_file, info, err_);
    }
    return exit_code;
  }
  // For failures before the engine runs: the message, the log's end, the
  // sentinel.
  int fail(const std::string& message, const std::string& stop_reason = {}) {
    err_ << "avenor: " << message << "\n";
    end_log(message);
    return finish(1, "", stop_reason);
  }

 private:
  void end_log(const std::string& message) {
    if (o_.on_event.empty() || log_failed_) return;
    try {
      open_log().write(synthetic_session_end({}, "error", message));
    } catch (const std::exception& e) {
      err_ << "avenor: open event stream: " << e.what() << "\n";
    }
  }

  const RunOptions& o_;
  std::ostream& err_;
  std::optional<EventWriter> log_;
  bool log_failed_ = false;  // the log cannot be opened: nothing to end
};

// cli.md §3.2 with the hints a user needs to fix the command line.
std::string unknown_backend_message(const std::string& backend, const PluginCatalog& catalog) {
  std::vector<std::string> names = catalog.backend_names();
  std::sort(names.begin(), names.end());
  std::string known;
  for (const auto& name : names) known += (known.empty() ? "" : ", ") + name;
  return "unknown backend \"" + backend + "\" (known: " + (known.empty() ? "none" : known) +
         "; see avenor plugins)";
}

std::string thinking_refusal(const std::string& backend, std::uint32_t accepted) {
  const std::string levels = thinking_level_names(accepted);
  return "backend \"" + backend + "\" does not support parameter \"thinking\" (" +
         (levels.empty() ? "it accepts no thinking values" : "accepted: " + levels) + ")";
}

// The agent's working directory is checked before anything starts, in the
// words `avenor verify` uses for it.
std::string work_dir_problem(const std::string& dir) {
  if (dir.empty()) return {};  // the backend's default: avenor's own directory
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (ec) return dir + ": --dir: " + ec.message();
  if (!fs::is_directory(status)) return dir + ": --dir: not a directory";
  return {};
}

}  // namespace

int run_main(const std::vector<std::string>& args, std::ostream& err) {
  RunOptions o;
  GoFlagSet flags("run");
  define_flags(flags, o);
  flags.set_usage_header("Usage: avenor [run] [flags]\n");
  // Help on stdout; a parse error or a stray word is a short usage error,
  // exit 1, no sentinel (its path is not known for sure yet).
  const UsageReporter usage("run", 1, std::cout, err);
  if (auto parsed = flags.parse(args); !parsed.ok()) return usage.parse_failure(flags, parsed);
  // D13: a stray word is an error, never a run with the later flags dropped.
  if (!flags.args().empty()) return usage.error(unexpected_argument_message(flags, args));
  if (o.run_id.empty()) o.run_id = generate_run_id();
  Finisher done(o, err);

  // §3.2 validation, in order.
  PluginCatalog catalog = PluginCatalog::discover_for(o.backend);  // complete on a miss
  auto backend = catalog.find(o.backend);
  if (!backend) {
    for (const auto& e : catalog.errors())
      err << "avenor: plugin " << e.path.string() << ": " << e.message << "\n";
    return done.fail(unknown_backend_message(o.backend, catalog));
  }
  std::string server_url = o.server_url.empty() ? environment("AVENOR_OPENCODE_URL") : o.server_url;
  if (backend->info.has(AVENOR_CAP_EXTERNAL_URL) && server_url.empty())
    return done.fail("--server-url is required for backend " + o.backend);
  if (!o.prompt.empty() && !o.prompt_file.empty())
    return done.fail("--prompt and --prompt-file are mutually exclusive");
  if (!o.loop_file.empty() && !o.resume.empty())
    return done.fail("--loop-file and --resume are mutually exclusive");
  if (o.prompt.empty() && o.prompt_file.empty() && o.loop_file.empty())
    return done.fail("--prompt, --prompt-file, or --loop-file is required");
  if (!o.thinking.empty()) {
    auto bit = thinking_level_bit(o.thinking);
    if (!bit)
      return done.fail("invalid --thinking \"" + o.thinking + "\" (one of " +
                       thinking_vocabulary() + ")");
    if ((backend->info.thinking_levels & *bit) == 0)
      return done.fail(thinking_refusal(o.backend, backend->info.thinking_levels));
  }
  if (const std::string problem = work_dir_problem(o.dir); !problem.empty())
    return done.fail(problem);
  if (!o.http_debug_token_file.empty() && o.http_debug.empty())
    return done.fail("--http-debug-token-file needs --http-debug");
  // Permission policy flags (new), checked before anything starts.
  if (o.deny_all && o.auto_approve)
    return done.fail("--deny-all and --auto-approve are mutually exclusive");
  if (!valid_timeout_action(o.permission_timeout_action))
    return done.fail("--permission-timeout-action: \"" + o.permission_timeout_action +
                     "\" is not one of reject, cancel");
  if (o.permission_timeout.count() < 0)
    return done.fail("--permission-timeout: " + format_go_duration(o.permission_timeout) +
                     " is negative (0 turns the timeout off)");
  PermissionPolicy policy;
  try {
    policy = policy_from_flags(o.permission_policy, o.approve_reads, o.deny_all);
  } catch (const PolicyError& e) {
    return done.fail(e.what());
  }

  // §3.3 startup.
  std::optional<fs::path> explicit_base;
  if (o.permission_handler.starts_with("file:") && o.permission_handler.size() > 5)
    explicit_base = o.permission_handler.substr(5);
  std::optional<fs::path> permission_base = explicit_base;
  if (!permission_base && o.permission_handler.empty() && !o.sentinel_file.empty() &&
      !o.auto_approve)
    permission_base = derive_permission_base(o.sentinel_file);
  if (auto problem = sentinel_path_problem(o.sentinel_file)) {
    o.sentinel_file.clear();  // someone else's FIFO/dir/link: never written to
    return done.fail(*problem);
  }
  if (!o.sentinel_file.empty())
    cleanup_run_files(o.sentinel_file,
                      explicit_base.value_or(derive_permission_base(o.sentinel_file)), err);

  std::string prompt = o.prompt;
  if (!o.prompt_file.empty()) {
    try {
      prompt = read_whole_file(o.prompt_file);
    } catch (const std::system_error& e) {
      return done.fail(std::string("read prompt file: ") + e.what());
    }
  }

  EventWriter* writer = nullptr;
  try {
    writer = &done.open_log();
  } catch (const std::exception& e) {
    return done.fail(std::string("open event stream: ") + e.what());
  }

  asio::io_context io;
  std::optional<ControlPlane> control;
  std::optional<SingleRunMethods> methods;
  std::optional<ControlServer> server;
  if (!o.control_socket.empty() || !o.http_debug.empty()) {
    control.emplace(io.get_executor(), o.run_id, o.label, take_identity_token());
    methods.emplace(*control);
  }
  if (!o.control_socket.empty()) {
    try {
      server.emplace(io, o.control_socket, *methods);
    } catch (const std::exception& e) {
      return done.fail(std::string("start control server: ") + e.what());
    }
    signal_control_ready();
  }
  std::optional<RunDebugTarget> debug_target;
  std::optional<HttpDebugServer> http_debug;
  std::optional<DebugTokenFile> token_file;  // removed again at exit
  if (!o.http_debug.empty()) {
    debug_target.emplace(*control);
    http_debug.emplace(io, *debug_target);
    try {
      http_debug->start(o.http_debug);
    } catch (const std::exception& e) {
      if (server) server->stop(std::chrono::milliseconds(0));
      return done.fail(std::string("--http-debug: ") + e.what());
    }
    try {
      token_file = announce_debug_access(*http_debug, o.http_debug_token_file,
                                         ::isatty(STDERR_FILENO) != 0, err);
    } catch (const std::exception& e) {
      http_debug->stop();
      if (server) server->stop(std::chrono::milliseconds(0));
      return done.fail(std::string("--http-debug-token-file: ") + e.what());
    }
  }
  if (!o.permission_handler.empty() && !explicit_base)
    return done.fail("--permission-handler supports file:<path> only");

  std::string model = o.model;
  if (!o.agent.empty() && model.empty()) {
    try {
      model = lookup_agent_model(o.backend, o.agent);
    } catch (const std::exception& e) {
      err << "avenor: " << e.what() << "\n";  // the run continues with no model
    }
  }
  std::optional<LoopConfig> loop;
  if (!o.loop_file.empty()) {
    try {
      loop = prepare_loop(o.loop_file, prompt, !o.prompt.empty() || !o.prompt_file.empty());
    } catch (const std::exception& e) {
      return done.fail(std::string("load loop config: ") + e.what(), "error");
    }
  }

  RunSetup setup{o, *backend, prompt, server_url, model, permission_base, std::move(policy)};
  EventPipeline events(*writer, control ? &*control : nullptr);
  RunEngine engine(io, std::move(setup), events, err);
  // Parked mode shows a turn's result before the process ends (cli.md §3.14);
  // --parked-timeout is ignored with --loop-file, which the engine knows.
  engine.set_sentinel_writer(
      [&done](int exit_code, const std::string& session_id, const std::string& stop_reason) {
        done.finish(exit_code, session_id, stop_reason);
      });
  if (server) server->start();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  unblock_termination_signals();  // one that came during setup is handled now
  std::function<void()> watch_signals = [&] {
    signals.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      engine.interrupt(StopCause::cancelled);
      watch_signals();
    });
  };
  watch_signals();
  asio::steady_timer overall(io);
  if (o.timeout.count() > 0) {
    overall.expires_after(o.timeout);
    overall.async_wait([&](boost::system::error_code ec) {
      if (!ec) engine.interrupt(StopCause::timeout);
    });
  }

  EnginePhaseRunner phases(engine);
  GitWorkTree tree(io, o.dir);
  auto drive = [&]() -> asio::awaitable<RunEnd> {
    if (!loop) {
      RunOutcome r = co_await engine.run();
      co_return RunEnd{r.exit_code, r.session_id, r.synthetic ? r.stop_reason : std::string(), {}};
    }
    LoopOutcome r = co_await LoopRunner(phases, tree, o.run_id, o.dir).run(*loop);
    co_return RunEnd{r.exit_code, r.session_id, r.stop_reason,
                     r.exit_reason == "abort" ? r.exit_label : std::string()};
  };
  RunEnd outcome;
  asio::co_spawn(io, drive(), [&](std::exception_ptr ex, RunEnd r) {
    if (ex) {
      std::string message = loop ? "loop run: " : "";
      try {
        std::rethrow_exception(ex);
      } catch (const std::exception& e) {
        message += e.what();
      } catch (...) {
        message += "unknown error";
      }
      err << "avenor: " << message << "\n";
      engine.end_log_after_failure(message);
      r = RunEnd{1, {}, loop ? "error" : "", {}};
    }
    outcome = std::move(r);
    signals.cancel();
    overall.cancel();
    // Clients get what is queued for them, then the socket goes away.
    if (server) server->stop();
    if (http_debug) http_debug->stop();
  });
  io.run();

  try {
    writer->sync();
  } catch (const std::exception& e) {
    err << "avenor: sync event stream: " << e.what() << "\n";
  }
  return done.finish(outcome.exit_code, outcome.session_id, outcome.stop_reason,
                     outcome.reason_label);
}

}  // namespace avenor::host
