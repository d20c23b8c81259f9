#include "control/single_run_methods.hpp"

#include <avenor/sdk/json.hpp>

#include "control/control_connection.hpp"
#include "control/rpc_error.hpp"
#include "control/rpc_params.hpp"
#include "control/subscribe_call.hpp"

namespace avenor::host {

namespace json = sdk::json;
using boost::json::object;
using boost::json::value;

namespace {

using rpc_params::opt_bool;
using rpc_params::opt_string;

// Methods a client may call with a runtime_id only on a supervisor.
bool runtime_scoped(const std::string& m) {
  return m == "status" || m == "result" || m == "cancel" || m == "prompt" ||
         m == "interrupt_and_prompt" || m == "answer_permission";
}

}  // namespace

boost::asio::awaitable<value> SingleRunMethods::call(CallContext& ctx, const std::string& method,
                                                     const object& params) {
  plane_.client_requested();
  if (runtime_scoped(method) && params.contains("runtime_id") && !params.at("runtime_id").is_null())
    throw RpcError::method_not_found();

  if (method == "identity") co_return object{{"token", plane_.identity_token()}};
  if (method == "status") co_return plane_.status();
  if (method == "result") co_return object{{"final_output", plane_.final_output()}};
  if (method == "subscribe") co_return subscribe_call(ctx, plane_.hub(), plane_.history(), params);
  if (method == "history") co_return history_call(plane_.history(), params);
  if (method == "cancel") {
    ctx.claim_owner();
    plane_.cancel();
    co_return object{{"ok", true}};
  }
  if (method == "prompt" || method == "interrupt_and_prompt") {
    ctx.claim_owner();
    std::string text = opt_string(params, "text");
    if (text.empty()) throw RpcError::required({"text"});
    if (method == "prompt")
      plane_.prompt(std::move(text));
    else
      plane_.interrupt_and_prompt(std::move(text), opt_bool(params, "keep_queue"));
    co_return object{{"accepted", true}};
  }
  if (method == "answer_permission") {
    ctx.claim_owner();
    co_return answer_permission(params);
  }
  if (method == "release_claim") {
    ctx.claim_owner();
    plane_.release_claim(opt_string(params, "request_id"));
    co_return object{{"ok", true}};
  }
  if (method == "publish_event") {
    ctx.claim_owner();
    const auto* e = params.if_contains("event");
    if (!e || !e->is_object()) throw RpcError::required({"event"});
    const auto* name = e->get_object().if_contains("event");
    if (!name || !name->is_string() || name->get_string().empty())
      throw RpcError::required({"event"});
    co_return object{{"seq", plane_.publish_event(e->get_object())}};
  }
  if (method == "spawn" || method == "shutdown") {
    ctx.claim_owner();  // the owner check comes first (control.md §4)
    throw RpcError::method_not_found();
  }
  throw RpcError::method_not_found();
}

value SingleRunMethods::answer_permission(const object& params) {
  const auto [request_id, option_id] = rpc_params::permission_ids(params);
  const std::optional<std::string> message = rpc_params::permission_message(params);
  if (plane_.answer_permission(request_id, option_id, message) != AnswerStatus::accepted)
    throw RpcError(rpc_code::no_pending_permission, "no_pending_permission");
  return object{{"accepted", true}};
}

}  // namespace avenor::host
