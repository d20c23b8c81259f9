#include "channel_backend.hpp"

#include <avenor/sdk/claude_mcp_config.hpp>
#include <ctime>

#include "guardian.hpp"
#include "tmux_commands.hpp"

namespace avenor::claude_channel {

namespace bj = boost::json;

ChannelBackend::ChannelBackend(sdk::Host host, sdk::StartOptions options, ChannelEnvironment env)
    : Backend(host, std::move(options)), env_(std::move(env)) {
  session_id_ = ids_.uuid();
  run_id_ = ids_.uuid();
  token_ = ids_.hex(32);
  push_token_ = ids_.hex(32);
  server_name_ = sdk::claude_mcp::channel_server_name(run_id_);
  tmux_session_ = "avenor-" + session_id_.substr(0, 8);
}

ChannelBackend::~ChannelBackend() { *alive_ = false; }

sdk::LaunchSpec ChannelBackend::launch() {
  sdk::LaunchSpec spec;
  const std::string avenor =
      options().host_executable.empty() ? std::string("avenor") : options().host_executable;
  // The guardian runs in --dir, so "." names the project for the cleanup.
  spec.argv = guardian_argv(tmux_session_, ".", avenor);
  spec.cwd = options().dir;
  // The guardian cleans up on stdin EOF; give it that time before SIGTERM.
  spec.eof_grace = std::chrono::seconds(3);
  return spec;
}

void ChannelBackend::on_closed(std::string_view reason) {
  // The guardian is gone: the host is closing the backend or something killed
  // it. Either way nothing more can be delivered; it has ended the terminal.
  if (phase_ != Phase::finished && phase_ != Phase::idle)
    host().log(sdk::LogLevel::debug, "claude-channel guardian closed: " + std::string(reason));
  phase_ = Phase::finished;
  for (auto id : {kPaneTimer, kLivenessTimer, kTranscriptTimer, kReadyTimer, kResubmitTimer,
                  kCancelKillTimer, kPanePidTimer, kDenyEnterTimer})
    host().cancel_timer(id);
}

void ChannelBackend::on_timer(std::uint64_t id) {
  switch (id) {
    case kPaneTimer:
      poll_pane();
      return;
    case kLivenessTimer:
      poll_liveness();
      return;
    case kTranscriptTimer:
      poll_transcript();
      return;
    case kReadyTimer:
      check_ready_for_prompt();
      return;
    case kResubmitTimer:
      check_resubmit();
      return;
    case kPanePidTimer:
      poll_pane_pid();
      return;
    case kDenyEnterTimer:
      if (phase_ == Phase::running) send_keys({"Enter"}, [](bool, const std::string&) {});
      return;
    case kCancelKillTimer:
      // Cancel: the channel had its 2 s; the terminal goes now, whatever it did.
      run(tmux_kill_session(tmux_session_), [this](sdk::Outcome<sdk::ProcessResult>) {
        teardown();
        if (cancel_op_) std::exchange(cancel_op_, std::nullopt)->complete();
      });
      return;
    default:
      break;
  }
  // A held /poll-control whose 2 s are up: answer with an empty list.
  for (auto it = held_polls_.begin(); it != held_polls_.end(); ++it) {
    if (it->second != id) continue;
    sdk::HttpReply reply;
    reply.body = "[]";
    services().respond(it->first, reply);
    held_polls_.erase(it);
    return;
  }
}

void ChannelBackend::run(const Argv& argv, ProcessDone done, std::string input,
                         std::chrono::milliseconds timeout) {
  sdk::ProcessRequest request;
  request.argv = argv;
  request.input = std::move(input);
  request.timeout = timeout;
  services().run_process(request, std::move(done));
}

void ChannelBackend::emit(bj::object event) const {
  if (!event.contains("session_id")) event["session_id"] = session_id_;
  host().emit(event);
}

void ChannelBackend::end_turn(bj::object session_end) {
  if (!turn_.active || turn_.ended) return;
  turn_.ended = true;
  pane_denied_ = false;
  emit(std::move(session_end));
}

void ChannelBackend::push_control(std::string_view type, bj::value payload) {
  if (!relay_) return;
  relay_->push(type, std::move(payload));
  flush_held_polls();
}

std::int64_t ChannelBackend::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void ChannelBackend::teardown(std::function<void()> done) {
  // The terminal is gone or going: the relay run is deleted, the project
  // entry and the temp dir removed. (The guardian repeats what is left when
  // the host closes the backend, so a failure here leaves nothing behind.)
  for (auto id :
       {kPaneTimer, kLivenessTimer, kTranscriptTimer, kReadyTimer, kResubmitTimer, kPanePidTimer})
    host().cancel_timer(id);
  if (relay_) relay_->delete_run();
  if (!temp_dir_.empty()) {
    services().remove_path(temp_dir_, true);
    temp_dir_.clear();
  }
  if (mcp_json_path_.empty()) {
    if (done) done();
    return;
  }
  const std::string path = std::exchange(mcp_json_path_, std::string());
  const std::string name = server_name_;
  const bool created = created_mcp_json_;
  auto finished = [this, done, name](auto) { forget_approval(name, done); };
  services().read_file(
      {.path = path, .max_bytes = std::uint64_t{16} << 20},
      [this, path, name, created, done, finished](sdk::Outcome<sdk::FileChunk> file) {
        try {
          if (!file.ok() || !file->exists) throw std::runtime_error("");
          auto removal = sdk::claude_mcp::remove_server(file->data, name);
          if (removal.removed.empty()) throw std::runtime_error("");
          const bool only_servers = sdk::claude_mcp::parse_root(removal.text).size() <= 1;
          if (created && removal.no_servers_left && only_servers) {
            // We made the file for this session alone: it goes with it.
            services().remove_path(path, false, finished);
          } else {
            services().write_file({.path = path, .data = removal.text}, finished);
          }
        } catch (const std::exception& e) {
          if (*e.what() != '\0')
            host().log(sdk::LogLevel::warn, "claude-channel: " + path + ": " + e.what());
          forget_approval(name, done);
        }
      });
}

void ChannelBackend::forget_approval(const std::string& name, std::function<void()> done) {
  // Claude Code remembered our (one-off) server name when its dialog was
  // answered; drop it so the project's local settings do not collect them.
  if (dir_.empty()) {
    if (done) done();
    return;
  }
  const std::string path = dir_ + "/.claude/settings.local.json";
  services().read_file({.path = path}, [this, path, name, done](sdk::Outcome<sdk::FileChunk> f) {
    std::optional<std::string> text;
    if (f.ok() && f->exists) text = sdk::claude_mcp::remove_enabled_server(f->data, name);
    if (!text) {
      if (done) done();
      return;
    }
    services().write_file({.path = path, .data = *text}, [done](auto) {
      if (done) done();
    });
  });
}

}  // namespace avenor::claude_channel
