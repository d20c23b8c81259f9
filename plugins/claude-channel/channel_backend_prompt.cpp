// Prompts (backends.md §7.5), permissions and cancel (§7.7).
#include <avenor/sdk/option_kinds.hpp>

#include "channel_backend.hpp"
#include "tmux_commands.hpp"

namespace avenor::claude_channel {

namespace bj = boost::json;

namespace {

constexpr std::int64_t kReadyWaitMs = 30'000;

std::int64_t rune_count(std::string_view text) {
  std::int64_t n = 0;
  for (char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

void ChannelBackend::prompt(sdk::Operation op, const std::string& session_id,
                            const std::string& text) {
  if (phase_ != Phase::running || (session_id != session_id_ && !session_id.empty())) {
    op.fail("claude-channel session " + session_id + " has ended");
    return;
  }
  if (prompt_op_) {
    op.fail("claude-channel: a prompt is still being delivered");
    return;
  }
  turn_ = Turn{};
  turn_.active = true;
  turn_.prompt = text;
  pane_denied_ = false;

  // Channel path: a `continue` control message for the sidecar.
  if (relay_) {
    const std::string id = relay_->push("continue", bj::object{{"message", text}});
    flush_held_polls();
    emit({{"event", "agent.prompt_queued"},
          {"control_id", id},
          {"message_type", "continue"},
          {"delivery", "channel"},
          {"prompt_length", rune_count(text)}});
  }
  // Terminal path: once the pane is ready, paste and submit.
  prompt_op_ = op;
  ready_deadline_ms_ = now_ms() + kReadyWaitMs;
  check_ready_for_prompt();
}

void ChannelBackend::check_ready_for_prompt() {
  if (!prompt_op_) return;
  if (phase_ != Phase::running) {
    std::exchange(prompt_op_, std::nullopt)->fail("the Claude Code terminal is gone");
    return;
  }
  run(tmux_capture_pane(tmux_session_), [this](sdk::Outcome<sdk::ProcessResult> r) {
    if (!prompt_op_) return;
    const std::string screen = r.ok() ? r->out : std::string();
    // The trust dialog (and any other startup dialog) is accepted here too.
    if (!answer_startup_dialog(screen) && (pane_ready(screen) || pane_idle(screen))) {
      deliver_prompt();
      return;
    }
    if (now_ms() >= ready_deadline_ms_) {
      std::exchange(prompt_op_, std::nullopt)
          ->fail("the Claude Code terminal was not ready for a prompt within 30 s");
      return;
    }
    host().set_timer(kReadyTimer, std::chrono::milliseconds(500));
  });
}

void ChannelBackend::deliver_prompt() {
  const std::string buffer = "avenor-prompt-" + session_id_.substr(0, 8);
  turn_.started_ms = now_ms();
  auto fail = [this](const std::string& what, const sdk::Outcome<sdk::ProcessResult>& r) {
    if (!prompt_op_) return;
    std::exchange(prompt_op_, std::nullopt)
        ->fail("tmux " + what + ": " + (r.ok() ? r->err : r.error));
  };
  run(
      tmux_load_buffer(buffer),
      [this, buffer, fail](sdk::Outcome<sdk::ProcessResult> loaded) {
        if (!loaded.ok() || !loaded->succeeded()) return fail("load-buffer", loaded);
        run(tmux_paste_buffer(buffer, tmux_session_),
            [this, fail](sdk::Outcome<sdk::ProcessResult> pasted) {
              if (!pasted.ok() || !pasted->succeeded()) return fail("paste-buffer", pasted);
              send_keys({"Enter"}, [this](bool ok, const std::string& error) {
                if (!prompt_op_) return;
                if (!ok) {
                  std::exchange(prompt_op_, std::nullopt)->fail("tmux send-keys: " + error);
                  return;
                }
                emit({{"event", "agent.prompt_submitted"},
                      {"delivery", "tmux"},
                      {"prompt_length", rune_count(turn_.prompt)}});
                std::exchange(prompt_op_, std::nullopt)->complete();
                if (!transcript_on_) {
                  transcript_on_ = true;
                  host().set_timer(kTranscriptTimer, std::chrono::seconds(2));
                }
                host().set_timer(kResubmitTimer, std::chrono::milliseconds(750));
              });
            });
      },
      turn_.prompt);
}

void ChannelBackend::check_resubmit() {
  if (phase_ != Phase::running) return;
  const std::string prompt = turn_.prompt;
  run(tmux_capture_pane(tmux_session_), [this, prompt](sdk::Outcome<sdk::ProcessResult> r) {
    if (!r.ok() || !r->succeeded()) return;
    // Pasted but not submitted (the Enter raced the paste): press it again.
    if (pane_idle(r->out) && prompt_still_in_input(r->out, prompt))
      send_keys({"Enter"}, [](bool, const std::string&) {});
  });
}

void ChannelBackend::send_keys(const Argv& keys,
                               std::function<void(bool ok, std::string error)> done) {
  run(tmux_send_keys(tmux_session_, keys),
      [done = std::move(done)](sdk::Outcome<sdk::ProcessResult> r) {
        if (r.ok() && r->succeeded()) {
          done(true, {});
        } else {
          done(false, r.ok() ? r->err : r.error);
        }
      });
}

void ChannelBackend::answer_permission(sdk::Operation op, const sdk::PermissionAnswer& answer) {
  if (!permission_ || permission_->request_id != answer.request_id) {
    op.fail("claude-channel: no pending permission request " + answer.request_id);
    return;
  }
  const bool allow = answer.allow && !answer.cancelled;
  if (!permission_->from_pane) {
    // Channel permission: the sidecar relays it as the structured notification (D11).
    push_control("permission_decision", bj::object{{"request_id", answer.request_id},
                                                   {"behavior", allow ? "allow" : "deny"},
                                                   {"option_id", answer.option_id},
                                                   {"message", answer.message}});
    permission_.reset();
    op.complete();
    return;
  }

  // Pane dialog: the option's number on allow, Escape on deny, then Enter.
  const std::vector<PaneOption>& options = permission_->options;
  const PaneOption* chosen = nullptr;
  if (!answer.option_id.empty()) {
    for (const PaneOption& o : options)
      if (o.number == answer.option_id) chosen = &o;
    if (chosen == nullptr) {
      op.fail("claude-channel: option " + answer.option_id + " is not offered");
      return;
    }
    if (chosen->reject == allow) {
      op.fail("claude-channel: option " + answer.option_id + " does not " +
              (allow ? "allow" : "reject"));
      return;
    }
  } else if (allow) {
    for (const PaneOption& o : options)
      if (!o.reject && chosen == nullptr) chosen = &o;
    if (chosen == nullptr) {
      op.fail("claude-channel: the dialog offers no allow option");
      return;
    }
  }
  Argv keys;
  if (allow) {
    if (!all_digits(chosen->number)) {
      op.fail("claude-channel: refusing to send key " + chosen->number);
      return;
    }
    keys = {chosen->number, "Enter"};
  } else {
    // Escape alone: ESC with Enter right behind it reads as Alt+Enter. The
    // Enter follows on a timer.
    keys = {"Escape"};
    host().set_timer(kDenyEnterTimer, std::chrono::milliseconds(500));
  }
  answered_dialog_ = permission_->description;
  answered_dialog_ms_ = now_ms();
  permission_.reset();
  pane_denied_ = !allow;
  send_keys(keys, [op](bool ok, const std::string& error) {
    if (ok) {
      op.complete();
    } else {
      op.fail("tmux send-keys: " + error);
    }
  });
}

void ChannelBackend::cancel(sdk::Operation op, const std::string& /*session_id*/) {
  if (phase_ != Phase::running) {
    op.complete();
    return;
  }
  push_control("cancel", bj::object{{"reason", "user cancel"}});
  phase_ = Phase::finished;  // nothing the terminal does now ends the turn
  turn_.ended = true;
  if (prompt_op_)
    std::exchange(prompt_op_, std::nullopt)->fail("cancelled", AVENOR_FAILURE_CANCELLED);
  cancel_op_ = op;
  host().set_timer(kCancelKillTimer, std::chrono::seconds(2));
}

}  // namespace avenor::claude_channel
