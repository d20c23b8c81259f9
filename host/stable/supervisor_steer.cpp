// Runtime-scoped steering (control.md §10.6, §10.7, §10.11): cancel, prompts
// (forwarded to a running runtime, held for a parked one until a slot is
// free), permission answers, wait_turn and child → parent questions.
#include <avenor/sdk/json.hpp>
#include <avenor/sdk/option_kinds.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <csignal>

#include "control/rpc_error.hpp"
#include "stable/dead_runtime.hpp"
#include "stable/supervisor.hpp"
#include "stable/supervisor_errors.hpp"
#include "util/duration.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace json = sdk::json;
using boost::json::object;
using boost::json::value;

asio::awaitable<void> Supervisor::cancel(const std::string& runtime_id) {
  Runtime& rt = find(runtime_id);
  if (rt.ended()) co_return;  // cancelling an ended runtime succeeds silently
  rt.shutting_down = true;
  rt.queued_prompts.clear();
  rt.interrupt_text.reset();
  auto link = rt.link;
  bool sent = false;
  if (link && !link->closed()) {
    try {
      co_await link->call("cancel", {}, std::chrono::seconds(5));
      sent = true;
    } catch (const std::exception&) {
    }
  }
  if (!sent) {
    auto it = runtimes_.find(runtime_id);
    if (it != runtimes_.end() && it->second->process && !it->second->process->exited())
      it->second->process->signal_group(SIGTERM);
  }
}

asio::awaitable<void> Supervisor::prompt(const std::string& runtime_id, std::string text,
                                         const std::string& request_id) {
  Runtime& rt = find(runtime_id);
  if (!request_id.empty() && request_id == rt.last_request_id) co_return;  // a duplicate reply
  if (!request_id.empty() && request_id == rt.pending_question) {
    rt.pending_question.clear();
    if (rt.question_timer) rt.question_timer->cancel();
  }
  if (rt.ended()) throw handler_error("runtime " + in_quotes(runtime_id) + " has ended");
  if (!request_id.empty()) rt.last_request_id = request_id;
  if (rt.parked() || rt.forwarding) {
    rt.queued_prompts.push_back(std::move(text));
    forward_queued(rt);
    co_return;
  }
  auto link = rt.link;
  if (!link) throw handler_error("runtime " + in_quotes(runtime_id) + " is not reachable");
  try {
    object params{{"text", text}};
    co_await link->call("prompt", std::move(params));
  } catch (const LinkCallError& e) {
    throw RpcError(e.code(), e.what());
  } catch (const std::exception& e) {
    throw handler_error("runtime " + in_quotes(runtime_id) + ": " + e.what());
  }
}

asio::awaitable<void> Supervisor::interrupt_and_prompt(const std::string& runtime_id,
                                                       std::string text, bool keep_queue) {
  Runtime& rt = find_live(runtime_id);
  if (rt.parked() || rt.forwarding) {
    if (!keep_queue) rt.queued_prompts.clear();
    rt.interrupt_text = std::move(text);
    forward_queued(rt);
    co_return;
  }
  auto link = rt.link;
  if (!link) throw handler_error("runtime " + in_quotes(runtime_id) + " is not reachable");
  try {
    object params{{"text", text}, {"keep_queue", keep_queue}};
    co_await link->call("interrupt_and_prompt", std::move(params));
  } catch (const LinkCallError& e) {
    throw RpcError(e.code(), e.what());
  } catch (const std::exception& e) {
    throw handler_error("runtime " + in_quotes(runtime_id) + ": " + e.what());
  }
}

void Supervisor::forward_queued(Runtime& rt) {
  if (rt.forwarding || rt.ended()) return;
  rt.forwarding = true;
  asio::co_spawn(io_, forward_loop(rt.spec.runtime_id), asio::detached);
}

asio::awaitable<void> Supervisor::forward_loop(std::string runtime_id) {
  for (;;) {
    auto it = runtimes_.find(runtime_id);
    if (it == runtimes_.end()) co_return;
    Runtime* rt = it->second.get();
    if (rt->ended() || (rt->queued_prompts.empty() && !rt->interrupt_text)) {
      rt->forwarding = false;
      co_return;
    }
    if (rt->parked()) {
      // A parked runtime holds no slot: a follow-up takes one first (§10.7).
      co_await acquire_slot();
      it = runtimes_.find(runtime_id);
      if (it == runtimes_.end()) co_return;
      rt = it->second.get();
      if (rt->ended() || shutting_down_) {
        rt->forwarding = false;
        co_return;
      }
      if (rt->queued_prompts.empty() && !rt->interrupt_text) continue;
      rt->status = "running";
      update_idle_timer();
      registry_changed();
    }
    const bool interrupt = rt->interrupt_text.has_value();
    std::string text;
    if (interrupt) {
      text = *std::exchange(rt->interrupt_text, std::nullopt);
    } else {
      text = std::move(rt->queued_prompts.front());
      rt->queued_prompts.pop_front();
    }
    auto link = rt->link;
    bool delivered = false;
    if (link && !link->closed()) {
      try {
        // While parked both resume the same session; an interrupt keeps the
        // queue the supervisor already trimmed.
        object params{{"text", text}};
        if (interrupt) params["keep_queue"] = true;
        co_await link->call(interrupt ? "interrupt_and_prompt" : "prompt", std::move(params));
        delivered = true;
      } catch (const std::exception& e) {
        err_ << "avenor stable: forward prompt to " << runtime_id << ": " << e.what() << "\n";
      }
    }
    if (!delivered) {
      it = runtimes_.find(runtime_id);
      if (it != runtimes_.end()) it->second->forwarding = false;
      co_return;
    }
  }
}

asio::awaitable<void> Supervisor::answer_permission(const std::string& runtime_id,
                                                    const std::string& request_id,
                                                    const std::string& option_id,
                                                    const std::optional<std::string>& message) {
  Runtime& rt = find(runtime_id);
  const std::string req = in_quotes(request_id);
  if (std::find(rt.answered_requests.begin(), rt.answered_requests.end(), request_id) !=
      rt.answered_requests.end())
    co_return;  // already resolved
  if (!rt.permission || json::string_or(*rt.permission, "request_id") != request_id)
    throw handler_error("permission request " + req + " not found for runtime " +
                        in_quotes(runtime_id));
  const object* chosen = nullptr;
  if (const auto* options = json::find_array(*rt.permission, "options")) {
    for (const auto& o : *options)
      if (const auto* obj = o.if_object(); obj && json::string_or(*obj, "optionId") == option_id)
        chosen = obj;
  }
  if (!chosen)
    throw handler_error("unknown option_id " + in_quotes(option_id) + " for permission request " +
                        req);
  if (json::bool_or(*chosen, "requiresMessage") && (!message || message->empty()))
    throw handler_error("option_id " + in_quotes(option_id) + " requires a message");
  const std::string raw_kind = json::string_or(*chosen, "kind");
  const auto kind = sdk::normalize_option_kind(raw_kind);
  if (kind != sdk::OptionKind::allow && kind != sdk::OptionKind::reject)
    throw handler_error("unsupported option kind " + in_quotes(raw_kind));
  if (rt.answer_in_flight)
    throw handler_error("permission request " + req + " already has an answer pending delivery");
  auto link = rt.link;
  if (!link || link->closed())
    throw handler_error("permission request " + req + " has no registered resolver state");
  rt.answer_in_flight = true;
  object params{{"request_id", request_id}, {"option_id", option_id}};
  if (message) params["message"] = *message;
  std::string failure;
  try {
    co_await link->call("answer_permission", params);
  } catch (const LinkCallError& e) {
    failure = e.code() == rpc_code::no_pending_permission
                  ? "permission request " + req + " is owned by another resolver"
                  : "permission request " + req + " rejected an invalid answer";
  } catch (const std::exception& e) {
    failure = "permission request " + req + " has no registered resolver state";
  }
  if (auto it = runtimes_.find(runtime_id); it != runtimes_.end()) {
    if (!failure.empty()) it->second->answer_in_flight = false;
    it->second->claim_held = false;
  }
  if (!failure.empty()) throw handler_error(failure);
}

asio::awaitable<object> Supervisor::wait_turn(const std::string& runtime_id,
                                              std::int64_t timeout_ms) {
  find(runtime_id);
  auto result = [&](const Runtime& rt) {
    return object{{"runtime_id", runtime_id},
                  {"session_id", rt.session_id},
                  {"stop_reason", rt.stop_reason},
                  {"final_output", rt.final_output}};
  };
  const std::uint64_t start = find(runtime_id).settled;
  const auto deadline =
      timeout_ms > 0 ? std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms)
                     : std::chrono::steady_clock::time_point::max();
  for (;;) {
    auto it = runtimes_.find(runtime_id);
    if (it == runtimes_.end())
      throw handler_error("runtime " + in_quotes(runtime_id) + " not found");
    Runtime& rt = *it->second;
    if (rt.ended() || rt.settled != start) {
      co_await settle_output(runtime_id);
      co_return result(find(runtime_id));
    }
    const bool notified = co_await rt.changed.wait_until(deadline);
    if (!notified) {
      it = runtimes_.find(runtime_id);
      if (it != runtimes_.end() && (it->second->ended() || it->second->settled != start)) {
        co_await settle_output(runtime_id);
        co_return result(find(runtime_id));
      }
      throw RpcError(rpc_code::wait_turn_timeout,
                     "wait_turn: timeout before the runtime's turn settled");
    }
  }
}

asio::awaitable<std::int64_t> Supervisor::publish_on(Runtime& rt, object event) {
  if (rt.link && !rt.link->closed() && !rt.ended()) {
    object params{{"event", std::move(event)}};
    value r = co_await rt.link->call("publish_event", std::move(params));
    if (const auto* o = r.if_object()) co_return json::find_int(*o, "seq").value_or(0);
    co_return 0;
  }
  // A dead runtime: its log continues here (§10.1).
  object stamped = append_dead_runtime_event(rt.spec.on_event, std::move(event), rt.latest_seq + 1,
                                             run_id_, rt.spec.label, rt.spec.runtime_id, err_);
  const std::int64_t seq = rt.latest_seq + 1;
  rt.observe(stamped);
  auto shared = std::make_shared<const object>(std::move(stamped));
  history_.record(shared);
  hub_.publish(shared);
  co_return seq;
}

asio::awaitable<void> Supervisor::send_to_parent(const std::string& runtime_id,
                                                 std::string message) {
  Runtime& child = find(runtime_id);
  if (child.spec.parent_id.empty())
    throw handler_error("runtime " + in_quotes(runtime_id) + " has no parent");
  const std::string parent_id = child.spec.parent_id;
  auto pit = runtimes_.find(parent_id);
  if (pit == runtimes_.end())
    throw handler_error("parent runtime " + in_quotes(parent_id) + " not found");
  Runtime& parent = *pit->second;
  if (parent.ended()) throw handler_error("runtime " + in_quotes(parent_id) + " has ended");

  const std::string request_id = "cq_" + std::to_string(next_question_++);
  child.pending_question = request_id;
  if (!child.question_timer) child.question_timer = std::make_unique<asio::steady_timer>(io_);
  child.question_timer->expires_after(kQuestionTimeout);
  child.question_timer->async_wait([this, runtime_id, request_id](boost::system::error_code ec) {
    if (!ec) question_timed_out(runtime_id, request_id);
  });
  object event{{"event", "child.question"}, {"runtime_id", parent_id},
               {"child_id", runtime_id},    {"parent_id", parent_id},
               {"request_id", request_id},  {"message", std::move(message)}};
  if (!parent.session_id.empty()) event["session_id"] = parent.session_id;
  try {
    co_await publish_on(parent, std::move(event));
  } catch (const std::exception& e) {
    throw handler_error("publish child.question: " + std::string(e.what()));
  }
}

void Supervisor::question_timed_out(const std::string& child_id, const std::string& request_id) {
  auto it = runtimes_.find(child_id);
  if (it == runtimes_.end() || it->second->pending_question != request_id) return;
  it->second->pending_question.clear();
  const std::string text = "No reply from your parent arrived within " +
                           format_go_duration(kQuestionTimeout) +
                           ". Continue on your own judgment and state the assumptions you make.";
  asio::co_spawn(io_, prompt(child_id, text, ""), [](std::exception_ptr) {});
}

}  // namespace avenor::host
