#include "stable/stable_methods.hpp"

#include "control/rpc_error.hpp"
#include "control/rpc_params.hpp"
#include "control/subscribe_call.hpp"

namespace avenor::host {

using boost::json::object;
using boost::json::value;
using rpc_params::opt_bool;
using rpc_params::opt_int;
using rpc_params::opt_string;

namespace {

constexpr std::size_t kMaxParentMessageBytes = 65536;

}  // namespace

boost::asio::awaitable<value> StableMethods::call(CallContext& ctx, const std::string& method,
                                                  const object& params) {
  Supervisor& s = supervisor_;
  const std::string runtime_id = method == "shutdown" ? "" : opt_string(params, "runtime_id");

  if (method == "identity") co_return object{{"token", s.identity_token()}};
  if (method == "list") co_return s.list();
  if (method == "status") {
    if (runtime_id.empty()) co_return s.supervisor_status();
    co_return s.status(runtime_id);
  }
  if (method == "result") {
    if (runtime_id.empty()) co_return object{{"final_output", ""}};
    std::string full = co_await s.result(runtime_id);
    co_return object{{"final_output", std::move(full)}};
  }
  if (method == "subscribe") co_return subscribe_call(ctx, s.hub(), s.event_history(), params);
  if (method == "history") co_return history_call(s.event_history(), params);
  if (method == "wait_turn") {
    if (runtime_id.empty()) throw RpcError::required({"runtime_id"});
    const std::int64_t timeout = opt_int(params, "timeout_ms").value_or(0);
    if (timeout < 0) throw RpcError::detail("timeout_ms must be non-negative");
    co_return co_await s.wait_turn(runtime_id, timeout);
  }
  if (method == "send_to_parent") {  // not owner-checked (control.md §4)
    if (runtime_id.empty()) throw RpcError::required({"runtime_id"});
    std::string message = opt_string(params, "message");
    if (message.empty()) throw RpcError::required({"message"});
    if (message.size() > kMaxParentMessageBytes)
      throw RpcError(rpc_code::invalid_params, "message exceeds 65536 bytes");
    co_await s.send_to_parent(runtime_id, std::move(message));
    co_return object{{"accepted", true}};
  }
  if (method == "spawn") {
    ctx.claim_owner();
    co_return co_await s.spawn(params);
  }
  if (method == "shutdown") {
    ctx.claim_owner();
    std::string mode = "graceful";
    if (const auto* m = params.if_contains("mode"); m && m->is_string() && !m->get_string().empty())
      mode = std::string(m->get_string());
    if (mode != "graceful" && mode != "kill")
      throw RpcError(rpc_code::handler_error, "shutdown mode must be graceful or kill");
    co_await s.shutdown(mode == "kill", "shutdown");
    // The reply is written before the connections close (§10.15).
    ctx.after_response([this] {
      if (on_shutdown_) on_shutdown_();
    });
    co_return object{{"shutting_down", true}};
  }
  if (method == "cancel") {
    ctx.claim_owner();
    if (!runtime_id.empty()) co_await s.cancel(runtime_id);
    co_return object{{"ok", true}};
  }
  if (method == "prompt" || method == "interrupt_and_prompt") {
    ctx.claim_owner();
    std::string text = opt_string(params, "text");
    if (text.empty()) throw RpcError::required({"text"});
    const bool keep_queue = opt_bool(params, "keep_queue");
    const std::string request_id = opt_string(params, "request_id");
    if (runtime_id.empty()) co_return object{{"accepted", true}};  // no effect un-scoped
    if (method == "prompt")
      co_await s.prompt(runtime_id, std::move(text), request_id);
    else
      co_await s.interrupt_and_prompt(runtime_id, std::move(text), keep_queue);
    co_return object{{"accepted", true}};
  }
  if (method == "answer_permission") {
    ctx.claim_owner();
    if (runtime_id.empty())
      throw RpcError(rpc_code::no_pending_permission, "no_pending_permission");
    const auto [request_id, option_id] = rpc_params::permission_ids(params);
    const std::optional<std::string> message = rpc_params::permission_message(params);
    co_await s.answer_permission(runtime_id, request_id, option_id, message);
    co_return object{{"accepted", true}};
  }
  throw RpcError::method_not_found();
}

}  // namespace avenor::host
