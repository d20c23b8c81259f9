// Event sources (backends.md §7.6): relay requests, the pane, tmux liveness
// and the transcript.
#include "channel_backend.hpp"
#include "tmux_commands.hpp"
#include "transcript.hpp"

namespace avenor::claude_channel {

namespace bj = boost::json;
namespace json = avenor::sdk::json;

namespace {

constexpr std::int64_t kStartupDialogWindowMs = 30'000;

std::string json_text(const bj::value& v) { return bj::serialize(v); }

}  // namespace

// --- relay ---------------------------------------------------------------------------

void ChannelBackend::on_relay_request(sdk::InboundRequest request) {
  if (!relay_) return;
  RelayRequest r{request.method, request.path, request.body, {}};
  if (auto it = request.headers.find("authorization"); it != request.headers.end())
    r.authorization = it->second;
  RelayOutcome out = relay_->handle(r);
  switch (out.kind) {
    case RelayOutcome::Kind::health:
      answer_health(request.request_id);
      return;
    case RelayOutcome::Kind::hold_poll: {
      const std::uint64_t timer = next_timer_++;
      held_polls_[request.request_id] = timer;
      host().set_timer(timer, std::chrono::seconds(2));
      return;
    }
    case RelayOutcome::Kind::reply:
      break;
  }
  sdk::HttpReply reply;
  reply.status = out.status;
  reply.body = json_text(out.body);
  services().respond(request.request_id, reply);
  for (bj::object& e : out.events) {
    if (json::string_or(e, "event") == "permission.request" && phase_ == Phase::running) {
      const std::string id = json::string_or(e, "request_id");
      if (!id.empty()) permission_ = PendingPermission{id, false, {}, {}};
    }
    emit(std::move(e));
  }
  if (out.session_end) end_turn(std::move(*out.session_end));
}

void ChannelBackend::answer_health(const std::string& request_id) {
  // Alive while the terminal is: `claude-channel-cleanup` keeps the
  // `.mcp.json` entry of a live session and drops the others.
  run(tmux_has_session(tmux_session_), [this, request_id](sdk::Outcome<sdk::ProcessResult> r) {
    // A session still starting is alive too: its entry is about to be read.
    const bool alive =
        phase_ == Phase::starting || (r.ok() && r->succeeded() && phase_ == Phase::running);
    auto answer = [this, request_id, alive] {
      sdk::HttpReply reply;
      reply.status = alive ? 200 : 503;
      reply.body = json_text(bj::object{{"ok", alive}, {"server_name", server_name_}});
      services().respond(request_id, reply);
    };
    if (alive) {
      answer();
      return;
    }
    // Gone (the guardian is cleaning up): our own entry goes first, so the
    // cleanup command finds the file as we leave it.
    phase_ = Phase::finished;
    teardown(answer);
  });
}

void ChannelBackend::flush_held_polls() {
  if (!relay_ || !relay_->has_queued() || held_polls_.empty()) return;
  auto first = held_polls_.begin();
  host().cancel_timer(first->second);
  sdk::HttpReply reply;
  reply.body = json_text(relay_->take_queued());
  services().respond(first->first, reply);
  held_polls_.erase(first);
}

// --- pane ----------------------------------------------------------------------------

void ChannelBackend::poll_pane() {
  if (phase_ != Phase::running) return;
  host().set_timer(kPaneTimer, std::chrono::milliseconds(500));
  if (pane_busy_) return;
  pane_busy_ = true;
  run(tmux_capture_pane(tmux_session_), [this](sdk::Outcome<sdk::ProcessResult> r) {
    pane_busy_ = false;
    if (phase_ != Phase::running || !r.ok() || !r->succeeded()) return;
    handle_pane(r->out);
  });
}

void ChannelBackend::handle_pane(const std::string& screen) {
  if (now_ms() - launched_ms_ <= kStartupDialogWindowMs && answer_startup_dialog(screen)) return;

  auto dialog = find_permission_dialog(screen);
  if (!dialog) answered_dialog_.clear();
  if (dialog) {
    if (permission_) return;  // already asked (this dialog, or a channel request)
    if (dialog->description == answered_dialog_ && now_ms() - answered_dialog_ms_ < 3000)
      return;  // the one just answered, still on screen
    PendingPermission pending{ids_.uuid(), true, dialog->options, dialog->description};
    bj::array options;
    for (const PaneOption& o : dialog->options)
      options.push_back(bj::object{{"id", o.number},
                                   {"label", o.label},
                                   {"optionId", o.number},
                                   {"kind", o.reject ? "reject" : "allow"}});
    const std::string request_id = pending.request_id;
    permission_ = std::move(pending);
    emit({{"event", "permission.request"},
          {"request_id", request_id},
          {"source", "tmux"},
          {"description", dialog->description},
          {"options", std::move(options)}});
    return;
  }

  if (!pane_idle(screen)) return;
  if (permission_ && permission_->from_pane) {
    // The dialog went away without our answer (answered in the terminal).
    permission_.reset();
    emit({{"event", "agent.status"}, {"phase", "waiting"}, {"source", "tmux"}});
  }
  if (pane_denied_ && turn_.active && !turn_.ended && !prompt_op_) {
    // Refusing a tool interrupts Claude's turn: no end_turn record follows,
    // the input box is simply back.
    end_turn({{"event", "session.end"},
              {"status", "blocked"},
              {"stop_reason", "end_turn"},
              {"reason", "permission denied in the terminal"}});
  }
}

bool ChannelBackend::answer_startup_dialog(const std::string& screen) {
  const StartupDialog dialog = find_startup_dialog(screen);
  if (dialog == StartupDialog::none) {
    last_dialog_ = StartupDialog::none;
    return false;
  }
  // The screen lags the keys: the same dialog seen again right after the
  // answer is not a new one (answering twice would type "1" into the prompt).
  if (dialog == last_dialog_ && now_ms() - last_dialog_ms_ < 3000) return true;
  last_dialog_ = dialog;
  last_dialog_ms_ = now_ms();
  host().log(sdk::LogLevel::debug,
             "claude-channel: answering startup dialog " + std::string(name_of(dialog)));
  send_keys(keys_for(dialog), [](bool, const std::string&) {});
  return true;
}

// --- tmux liveness ---------------------------------------------------------------------

void ChannelBackend::poll_liveness() {
  if (phase_ != Phase::running) return;
  host().set_timer(kLivenessTimer, std::chrono::milliseconds(500));
  if (liveness_busy_) return;
  liveness_busy_ = true;
  run(tmux_has_session(tmux_session_), [this](sdk::Outcome<sdk::ProcessResult> r) {
    liveness_busy_ = false;
    if (r.ok() && !r->timed_out && r->exit_code != 0) terminal_gone("tmux session ended");
  });
}

void ChannelBackend::terminal_gone(const std::string& why) {
  if (phase_ != Phase::running) return;
  host().log(sdk::LogLevel::debug, "claude-channel: " + why);
  // What the transcript still holds is read once more before the end.
  auto finish = [this] {
    phase_ = Phase::finished;
    if (prompt_op_) {
      std::exchange(prompt_op_, std::nullopt)
          ->fail("the Claude Code terminal closed before the prompt was delivered");
    } else {
      end_turn({{"event", "session.end"}, {"status", "done"}, {"stop_reason", "end_turn"}});
    }
    teardown();
  };
  if (!transcript_on_) {
    finish();
    return;
  }
  phase_ = Phase::finished;  // no more polls; the last read below
  services().read_file(
      {.path = transcript_path_, .offset = transcript_offset_, .whole_lines = true},
      [this, finish](sdk::Outcome<sdk::FileChunk> chunk) {
        if (chunk.ok() && chunk->exists && chunk->size >= transcript_offset_) {
          transcript_offset_ = chunk->next_offset;
          TranscriptBatch batch = map_transcript_lines(chunk->data, session_id_, turn_.started_ms);
          for (bj::object& e : batch.events) emit(std::move(e));
          if (batch.end_turn)
            end_turn({{"event", "session.end"}, {"status", "done"}, {"stop_reason", "end_turn"}});
        }
        finish();
      });
}

// --- transcript --------------------------------------------------------------------------

void ChannelBackend::poll_transcript() {
  if (phase_ != Phase::running) return;
  host().set_timer(kTranscriptTimer, std::chrono::seconds(2));
  if (transcript_busy_) return;
  transcript_busy_ = true;
  services().read_file(
      {.path = transcript_path_, .offset = transcript_offset_, .whole_lines = true},
      [this](sdk::Outcome<sdk::FileChunk> chunk) {
        transcript_busy_ = false;
        if (phase_ != Phase::running || !chunk.ok() || !chunk->exists) return;
        if (chunk->size < transcript_offset_) {
          transcript_offset_ = 0;  // the file shrank: start over
          return;
        }
        transcript_offset_ = chunk->next_offset;
        TranscriptBatch batch = map_transcript_lines(chunk->data, session_id_, turn_.started_ms);
        for (bj::object& e : batch.events) emit(std::move(e));
        const bool open = turn_.active && !turn_.ended;
        if (batch.api_error && open) {
          end_turn({{"event", "session.end"},
                    {"status", "failed"},
                    {"stop_reason", "error"},
                    {"error_message", *batch.api_error}});
        } else if (batch.end_turn && open) {
          end_turn({{"event", "session.end"}, {"status", "done"}, {"stop_reason", "end_turn"}});
        } else if (batch.records > 0 && open) {
          emit({{"event", "agent.status"},
                {"phase", "working"},
                {"source", "transcript"},
                {"records", batch.records}});
        }
      });
}

}  // namespace avenor::claude_channel
