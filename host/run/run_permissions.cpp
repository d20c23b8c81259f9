// Permission requests of a turn (events.md §7): who resolves them (the
// permission policy first, new), the control claim and its hand-over to the
// file handler, the permission timeout (new), relaying the answer to the
// backend. Part of RunEngine, split from run_engine.cpp by concern.
#include <avenor/sdk/json.hpp>
#include <avenor/sdk/option_kinds.hpp>

#include "permissions/permission_facts.hpp"
#include "run/run_engine.hpp"
#include "run/run_turn.hpp"
#include "util/duration.hpp"

namespace avenor::host {

namespace json = sdk::json;
using boost::json::object;

namespace {

std::string id_string(const boost::json::value* v) {
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return {};
}

}  // namespace

AnswerStatus RunEngine::answer_permission(const std::string& request_id,
                                          const std::string& option_id,
                                          const std::optional<std::string>& message) {
  if (resolved_requests_.contains(request_id)) return AnswerStatus::accepted;
  if (!pending_ || pending_->request_id != request_id || pending_->answer_queued)
    return AnswerStatus::no_pending;
  if (!pending_->control_may_answer)
    return pending_->resolver == "file" ? AnswerStatus::delegated : AnswerStatus::no_pending;
  for (const auto& opt : pending_->options) {
    const auto* o = opt.if_object();
    if (!o || json::string_or(*o, "optionId") != option_id) continue;
    const auto kind = sdk::normalize_option_kind(json::string_or(*o, "kind"));
    if (kind != sdk::OptionKind::allow && kind != sdk::OptionKind::reject)
      return AnswerStatus::no_pending;
    if (json::bool_or(*o, "requiresMessage") && (!message || message->empty()))
      return AnswerStatus::no_pending;
    pending_->answer_queued = true;
    FileAnswer answer{false, option_id, message.value_or(""), kind};
    mailbox_.push(
        PermissionDecisionMessage{pending_->generation, request_id, "control", answer, {}});
    return AnswerStatus::accepted;
  }
  return AnswerStatus::no_pending;
}

void RunEngine::release_claim(const std::string& request_id) {
  if (pending_ && pending_->request_id == request_id && pending_->resolver == "reserved")
    mailbox_.push(ClaimEndedMessage{request_id});
}

void RunEngine::begin_permission(Turn& turn, const object& request) {
  const auto& o = setup_.options;
  const std::string request_id = id_string(request.if_contains("request_id"));
  object annotated = request;

  if (request_id.empty()) {
    annotated["resolver"] = "none";
    write(annotated);
    write_error("permission", "permission.request missing request_id", turn.session_id);
    return;
  }
  const bool needs_user = json::bool_or(request, "requires_user_input");
  // The policy answers first; what it leaves to ask goes down the usual
  // chain. A request that needs a person is never answered by a policy.
  std::optional<PolicyDecision> policy;
  if (!needs_user && !setup_.policy.inert()) {
    const auto* options = json::find_array(request, "options");
    auto d =
        decide_permission(setup_.policy, describe_permission(setup_.backend.info.name, request),
                          options ? *options : boost::json::array{});
    if (d.action != PolicyAction::ask) policy = std::move(d);
  }
  // A stable runtime reserves for its supervisor also before the supervisor
  // has linked (control.md §10.10): a fast backend's first request must not
  // race the link. The supervisor sees it in the replay and claims or releases.
  const bool awaiting_supervisor =
      control_ && !o.runtime_id.empty() && !o.control_socket.empty() && !control_->ever_linked();
  const bool reserve = control_ && (control_->clients() > 0 || awaiting_supervisor);
  std::string resolver = policy                            ? "policy"
                         : (o.auto_approve && !needs_user) ? "automatic"
                         : reserve                         ? "reserved"
                         : file_handler_                   ? "file"
                                                           : "none";
  annotated["resolver"] = resolver;
  if (pending_) {
    write(annotated);
    write_error("permission", "another permission request is already pending", turn.session_id);
    err_ << "avenor: another permission request is already pending\n";
    turn.result = TurnResult{1, "", false};
    return;
  }
  // The claim is recorded before the request is published, so a client
  // reacting to the event finds it (events.md §7.1).
  PendingPermission p;
  p.generation = turn.generation;
  p.request_id = request_id;
  p.request = request;
  if (const auto* options = json::find_array(request, "options")) p.options = *options;
  p.resolver = resolver;
  p.control_may_answer = resolver == "reserved" || resolver == "none";
  p.serial = ++permission_serial_;
  pending_ = std::move(p);
  write(annotated);

  if (policy) {
    pending_->answer_queued = true;
    pending_->policy_rule = policy->rule;
    FileAnswer answer{false, policy->option_id, "", policy->kind};
    mailbox_.push(PermissionDecisionMessage{turn.generation, request_id, "policy", answer, {}});
    return;
  }
  if (resolver != "automatic" && o.permission_timeout.count() > 0) arm_permission_timeout();
  if (resolver == "automatic") {
    FileAnswer answer;
    answer.kind = sdk::OptionKind::allow;
    for (const auto& opt : pending_->options) {
      const auto* obj = opt.if_object();
      if (obj &&
          sdk::normalize_option_kind(json::string_or(*obj, "kind")) == sdk::OptionKind::allow) {
        answer.option_id = json::string_or(*obj, "optionId");
        break;
      }
    }
    pending_->answer_queued = true;
    mailbox_.push(PermissionDecisionMessage{turn.generation, request_id, "avenor", answer, {}});
  } else if (resolver == "reserved") {
    const auto limit = o.permission_claim_timeout;
    if (limit.count() > 0) arm_timer(claim_timer_, limit, TimerKind::claim);  // 0: no limit (D3)
  } else if (resolver == "file") {
    start_file_handler();
  }
}

void RunEngine::start_file_handler() {
  const unsigned gen = pending_->generation;
  const std::string request_id = pending_->request_id;
  file_handler_->begin(
      pending_->request,
      [this, gen, request_id](FileAnswer a) {
        mailbox_.push(PermissionDecisionMessage{gen, request_id, "file", std::move(a), {}});
      },
      [this, gen, request_id](std::string error) {
        mailbox_.push(
            PermissionDecisionMessage{gen, request_id, "file", std::nullopt, std::move(error)});
      });
}

void RunEngine::end_claim(const std::string& request_id) {
  if (!pending_ || pending_->request_id != request_id || pending_->resolver != "reserved") return;
  claim_timer_.cancel();
  // A socket answer arriving during the hand-over is still taken, so the
  // control side may keep answering (events.md §7.2).
  if (file_handler_) {
    pending_->resolver = "file";
    start_file_handler();
  } else {
    pending_->resolver = "none";
  }
}

void RunEngine::finish_permission(BackendConnection& conn, Turn& turn,
                                  PermissionDecisionMessage& msg) {
  if (!pending_ || pending_->request_id != msg.request_id) return;
  const auto policy_rule = pending_->policy_rule;
  abandon_permission();
  resolved_requests_.insert(msg.request_id);
  if (!msg.answer) {
    // A timeout's error already says what happened; a handler's is prefixed.
    const std::string text =
        msg.source == "timeout" ? msg.error : "permission handler: " + msg.error;
    err_ << "avenor: " << text << "\n";
    write_error("permission", text, turn.session_id);
    turn.result = TurnResult{1, "", false};
    return;
  }
  const FileAnswer& a = *msg.answer;
  const unsigned gen = turn.generation;
  auto relay = [&](object params) {
    params["session_id"] = turn.session_id;
    params["request_id"] = msg.request_id;
    conn.answer_permission(params, [this, gen](OperationResult r) {
      mailbox_.push(OperationDoneMessage{gen, OperationKind::answer_permission, std::move(r)});
    });
  };
  auto write_response = [&](object response) {
    if (!turn.session_id.empty()) response["session_id"] = turn.session_id;
    try {
      events_.write(response);
    } catch (const std::exception& e) {
      // A lost permission.response is reported, not fatal (events.md §1).
      err_ << "avenor: write event: " << e.what() << "\n";
    }
  };
  if (a.cancelled) {
    // The timeout's cancel is recorded (new); a file answer's is not.
    if (msg.source == "timeout")
      write_response(object{{"event", "permission.response"},
                            {"request_id", msg.request_id},
                            {"option_id", ""},
                            {"kind", "unknown"},
                            {"outcome", "cancelled"},
                            {"source", msg.source}});
    relay(object{{"cancelled", true}, {"allow", false}});
    turn.stop_now = "cancelled";
    if (!stop_cause_) stop_cause_ = StopCause::cancelled;
    return;
  }
  object response{{"event", "permission.response"},
                  {"request_id", msg.request_id},
                  {"option_id", a.option_id},
                  {"kind", sdk::to_string(a.kind)},
                  {"source", msg.source}};
  if (!policy_rule.empty()) response["rule"] = policy_rule;
  write_response(std::move(response));
  if (auto c = status_.permission_resolved())
    write_status(c->phase, c->label, "avenor", turn.session_id);
  relay(object{{"allow", a.kind == sdk::OptionKind::allow},
               {"option_id", a.option_id},
               {"message", a.message}});
}

void RunEngine::abandon_permission() {
  if (pending_ && pending_->resolver == "file" && file_handler_) file_handler_->abandon();
  claim_timer_.cancel();
  if (permission_timer_) permission_timer_->cancel();
  pending_.reset();
}

void RunEngine::arm_permission_timeout() {
  if (!permission_timer_) permission_timer_.emplace(io_);
  const unsigned serial = pending_->serial;
  permission_timer_->expires_after(setup_.options.permission_timeout);
  permission_timer_->async_wait([this, serial](boost::system::error_code ec) {
    if (!ec) permission_timed_out(serial);
  });
}

void RunEngine::permission_timed_out(unsigned serial) {
  // Whatever resolver holds the request, the timeout is one more answer that
  // goes through the mailbox: the first decision there wins, a later one
  // finds nothing pending. An answer already queued has won.
  if (!pending_ || pending_->serial != serial || pending_->answer_queued) return;
  const auto& o = setup_.options;
  pending_->answer_queued = true;
  const std::string what = "permission request " + pending_->request_id + " unanswered after " +
                           format_go_duration(o.permission_timeout);
  PermissionDecisionMessage decision{pending_->generation, pending_->request_id, "timeout", {}, {}};
  if (o.permission_timeout_action == "cancel") {
    err_ << "avenor: " << what << "; cancelling the run\n";
    decision.answer = FileAnswer{true, "", "", sdk::OptionKind::unknown};
  } else {
    for (const auto& opt : pending_->options) {
      const auto* obj = opt.if_object();
      if (!obj ||
          sdk::normalize_option_kind(json::string_or(*obj, "kind")) != sdk::OptionKind::reject)
        continue;
      const std::string id = json::string_or(*obj, "optionId");
      err_ << "avenor: " << what << "; rejected with option \"" << id << "\"\n";
      decision.answer = FileAnswer{false, id, "", sdk::OptionKind::reject};
      break;
    }
    if (!decision.answer) decision.error = what + " and it offers no reject option";
  }
  mailbox_.push(std::move(decision));
}

}  // namespace avenor::host
