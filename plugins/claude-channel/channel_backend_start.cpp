// Starting a claude-channel session (backends.md §7.1–7.3): preconditions,
// the relay, the MCP wiring, the tmux session and claude's pid.
#include <avenor/sdk/claude_mcp_config.hpp>

#include "channel_backend.hpp"
#include "guardian.hpp"
#include "preconditions.hpp"
#include "tmux_commands.hpp"
#include "transcript.hpp"

namespace avenor::claude_channel {

namespace bj = boost::json;

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string iso_now() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

void ChannelBackend::start_session(sdk::Operation op, std::optional<std::string> resume) {
  if (resume && !options().thinking.empty()) {
    op.fail(
        "claude-channel accepts --thinking only when starting a session (--effort is "
        "startup-only)");
    return;
  }
  if (resume) {
    op.fail("claude-channel cannot resume session " + *resume +
            ": a session lives only as long as its terminal in the avenor process that started "
            "it");
    return;
  }
  if (!options().server_url.empty()) {
    op.fail("external server URL transport is not implemented by the stdio client");
    return;
  }
  if (phase_ != Phase::idle) {
    op.fail("claude-channel: this backend instance already started a session");
    return;
  }
  phase_ = Phase::starting;
  start_op_ = op;
  // The directory as claude will see its cwd: absolute, symlinks resolved.
  sdk::ProcessRequest pwd;
  pwd.argv = {"pwd", "-P"};
  pwd.cwd = options().dir.empty() ? "." : options().dir;
  services().run_process(pwd, [this, op](sdk::Outcome<sdk::ProcessResult> r) {
    if (!r.ok() || !r->succeeded() || trimmed(r->out).empty()) {
      fail_start(op, "--dir " + options().dir + ": " + (r.ok() ? trimmed(r->err) : r.error));
      return;
    }
    dir_ = trimmed(r->out);
    check_preconditions(op);
  });
}

void ChannelBackend::check_preconditions(sdk::Operation op) {
  run({"claude", "--version"}, [this, op](sdk::Outcome<sdk::ProcessResult> v) {
    if (!v.ok()) {
      fail_start(op, "claude is not on PATH (" + v.error + ")");
      return;
    }
    if (auto problem = check_claude_version(v->out + v->err)) {
      fail_start(op, *problem);
      return;
    }
    run({"tmux", "-V"}, [this, op](sdk::Outcome<sdk::ProcessResult> t) {
      if (!t.ok() || !t->succeeded()) {
        fail_start(op, "tmux is needed for the claude-channel terminal and is not usable (" +
                           (t.ok() ? trimmed(t->err) : t.error) + ")");
        return;
      }
      if (options().thinking.empty()) {
        start_relay(op);
        return;
      }
      run({"claude", "--help"}, [this, op](sdk::Outcome<sdk::ProcessResult> h) {
        if (!h.ok() || !help_lists_effort(h->out + h->err)) {
          fail_start(op, "--thinking needs a claude whose --help lists --effort <level>");
          return;
        }
        start_relay(op);
      });
    });
  });
}

void ChannelBackend::start_relay(sdk::Operation op) {
  ChannelRelay::Identity identity{run_id_, token_, push_token_, server_name_, session_id_};
  relay_ = std::make_unique<ChannelRelay>(identity, iso_now, [this] { return ids_.uuid(); });
  sdk::ListenOptions listen;  // 127.0.0.1:0, 1 MiB bodies, 5 s read timeout
  listener_ = services().listen_http(
      listen,
      [this, op](int port) {
        broker_url_ = "http://127.0.0.1:" + std::to_string(port);
        write_mcp_configs(op);
      },
      [this](sdk::InboundRequest request) { on_relay_request(std::move(request)); },
      [this, op](sdk::Outcome<sdk::Done> done) {
        if (!done.ok() && !done.cancelled && phase_ == Phase::starting)
          fail_start(op, "channel relay: " + done.error);
      });
}

void ChannelBackend::write_mcp_configs(sdk::Operation op) {
  const std::string avenor =
      options().host_executable.empty() ? std::string("avenor") : options().host_executable;
  const bj::object entry =
      sdk::claude_mcp::channel_server_entry(avenor, run_id_, token_, broker_url_);
  services().make_temp_dir(
      "avenor-claude-channel-", [this, op, entry](sdk::Outcome<std::string> dir) {
        if (!dir.ok()) {
          fail_start(op, "temp dir: " + dir.error);
          return;
        }
        temp_dir_ = *dir;
        host().write(guardian_tempdir_line(temp_dir_));
        const std::string config = sdk::claude_mcp::upsert_server("", server_name_, entry);
        services().write_file({.path = temp_dir_ + "/mcp.json", .data = config, .mode = 0600});

        // The project entry: read, upsert, write back atomically.
        mcp_json_path_ = dir_ + "/.mcp.json";
        services().read_file(
            {.path = mcp_json_path_, .max_bytes = std::uint64_t{16} << 20},
            [this, op, entry](sdk::Outcome<sdk::FileChunk> file) {
              if (!file.ok()) {
                fail_start(op, "read " + mcp_json_path_ + ": " + file.error);
                return;
              }
              std::string text;
              try {
                text = sdk::claude_mcp::upsert_server(file->exists ? file->data : std::string(),
                                                      server_name_, entry);
              } catch (const std::exception& e) {
                const std::string path = std::exchange(mcp_json_path_, std::string());
                fail_start(op, path + ": " + e.what());
                return;
              }
              created_mcp_json_ = !file->exists;
              services().write_file({.path = mcp_json_path_, .data = text},
                                    [this, op](sdk::Outcome<sdk::Done> w) {
                                      if (!w.ok()) {
                                        fail_start(op, "write " + mcp_json_path_ + ": " + w.error);
                                        return;
                                      }
                                      start_terminal(op);
                                    });
            });
      });
}

void ChannelBackend::start_terminal(sdk::Operation op) {
  ClaudeLaunch launch{server_name_,    session_id_,     options().agent,
                      options().label, options().model, options().thinking};
  const std::string command = pane_command(claude_arguments(launch));
  transcript_path_ = transcript_path(env_.config_dir, dir_, session_id_);
  launched_ms_ = now_ms();
  run(tmux_new_session(tmux_session_, dir_, command),
      [this, op](sdk::Outcome<sdk::ProcessResult> r) {
        if (!r.ok() || !r->succeeded()) {
          fail_start(op, "tmux new-session: " + (r.ok() ? trimmed(r->err) : r.error));
          return;
        }
        pane_pid_attempts_ = 20;  // 20 × 100 ms = 2 s
        poll_pane_pid();
      });
}

void ChannelBackend::poll_pane_pid() {
  if (!start_op_ || phase_ != Phase::starting) return;
  run(tmux_pane_pid(tmux_session_), [this](sdk::Outcome<sdk::ProcessResult> r) {
    if (!start_op_ || phase_ != Phase::starting) return;
    int pid = 0;
    if (r.ok() && r->succeeded()) pid = std::atoi(trimmed(r->out).c_str());
    if (pid > 0) {
      session_started(*start_op_, pid);
      return;
    }
    if (--pane_pid_attempts_ <= 0) {
      fail_start(*start_op_, "tmux session " + tmux_session_ +
                                 " has no pane pid after 2 s (claude exited at once?)");
      return;
    }
    host().set_timer(kPanePidTimer, std::chrono::milliseconds(100));
  });
}

void ChannelBackend::session_started(sdk::Operation op, int pane_pid) {
  phase_ = Phase::running;
  start_op_.reset();
  emit({{"event", "session.start"},
        {"backend", "claude-channel"},
        {"dir", dir_},
        {"broker_url", broker_url_},
        {"dangerously_load", true},
        {"pid", pane_pid},
        {"tmux_session", tmux_session_},
        {"server_name", server_name_}});
  host().set_timer(kPaneTimer, std::chrono::milliseconds(500));
  host().set_timer(kLivenessTimer, std::chrono::milliseconds(500));
  op.complete(bj::object{{"session_id", session_id_}});
}

void ChannelBackend::fail_start(const sdk::Operation& op, const std::string& message) {
  start_op_.reset();
  phase_ = Phase::finished;
  if (!tmux_session_.empty()) run(tmux_kill_session(tmux_session_), [](auto) {});
  teardown();
  op.fail(message);
}

}  // namespace avenor::claude_channel
