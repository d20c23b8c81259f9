#include "control/single_run_methods.hpp"

#include <avenor/sdk/json.hpp>

#include "control/control_connection.hpp"
#include "control/rpc_error.hpp"
#include "util/utf8.hpp"

namespace avenor::host {

namespace json = sdk::json;
using boost::json::object;
using boost::json::value;

namespace {

constexpr std::size_t kMaxMessageBytes = 64 * 1024;
constexpr std::int64_t kReplayDefault = 64;
constexpr std::int64_t kReplayMax = 256;

// Optional typed params: absent or null → fallback; the wrong type is
// invalid params.
std::string opt_string(const object& p, const char* key) {
  const auto* v = p.if_contains(key);
  if (!v || v->is_null()) return {};
  if (!v->is_string()) throw RpcError::invalid_params();
  return std::string(v->get_string());
}

bool opt_bool(const object& p, const char* key) {
  const auto* v = p.if_contains(key);
  if (!v || v->is_null()) return false;
  if (!v->is_bool()) throw RpcError::invalid_params();
  return v->get_bool();
}

std::optional<std::int64_t> opt_int(const object& p, const char* key) {
  const auto* v = p.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double() &&
      v->get_double() == static_cast<double>(static_cast<std::int64_t>(v->get_double())))
    return static_cast<std::int64_t>(v->get_double());
  throw RpcError::invalid_params();
}

// Methods a client may call with a runtime_id only on a supervisor.
bool runtime_scoped(const std::string& m) {
  return m == "status" || m == "result" || m == "cancel" || m == "prompt" ||
         m == "interrupt_and_prompt" || m == "answer_permission";
}

}  // namespace

boost::asio::awaitable<value> SingleRunMethods::call(CallContext& ctx, const std::string& method,
                                                     const object& params) {
  if (runtime_scoped(method) && params.contains("runtime_id") && !params.at("runtime_id").is_null())
    throw RpcError::method_not_found();

  if (method == "identity") co_return object{{"token", plane_.identity_token()}};
  if (method == "status") co_return plane_.status();
  if (method == "result") co_return object{{"final_output", plane_.final_output()}};
  if (method == "subscribe") co_return subscribe(ctx, params);
  if (method == "history") co_return history(params);
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

value SingleRunMethods::subscribe(CallContext& ctx, const object& params) {
  const std::string runtime_id = opt_string(params, "runtime_id");
  const bool replay = opt_bool(params, "replay");
  std::int64_t limit = opt_int(params, "limit").value_or(kReplayDefault);
  const std::int64_t after_seq = opt_int(params, "after_seq").value_or(0);
  if (limit < 0) throw RpcError::invalid_params();
  if ((replay || after_seq > 0) && runtime_id.empty()) throw RpcError::required({"runtime_id"});
  limit = std::min(limit == 0 ? kReplayDefault : limit, kReplayMax);

  auto sub = plane_.hub().subscribe(runtime_id);
  std::vector<SharedEvent> replayed;
  if (replay)
    replayed = plane_.history().events(runtime_id, after_seq, static_cast<std::size_t>(limit));
  std::map<std::string, std::int64_t, std::less<>> after;
  if (after_seq > 0) after[runtime_id] = after_seq;
  // Live events queue in `sub` from now on; they are delivered, after the
  // replay, once the response is out (control.md §8).
  ctx.after_response([&conn = ctx.connection(), sub = std::move(sub),
                      replayed = std::move(replayed), after = std::move(after)]() mutable {
    conn.add_subscription(std::move(sub), std::move(replayed), std::move(after));
  });
  return object{{"subscribed", true}};
}

value SingleRunMethods::history(const object& params) {
  const std::string runtime_id = opt_string(params, "runtime_id");
  if (runtime_id.empty()) throw RpcError::required({"runtime_id"});
  std::int64_t limit = opt_int(params, "limit").value_or(0);
  const std::int64_t after_seq = opt_int(params, "after_seq").value_or(0);
  if (limit < 0) throw RpcError::invalid_params();
  boost::json::array events;
  for (const auto& e :
       plane_.history().events(runtime_id, after_seq, static_cast<std::size_t>(limit)))
    events.push_back(*e);
  return object{{"runtime_id", runtime_id},
                {"events", std::move(events)},
                {"latest_seq", plane_.history().latest_seq(runtime_id)}};
}

value SingleRunMethods::answer_permission(const object& params) {
  const auto* rid = params.if_contains("request_id");
  const auto* oid = params.if_contains("option_id");
  if ((rid && !rid->is_null() && !rid->is_string()) ||
      (oid && !oid->is_null() && !oid->is_string()))
    throw RpcError::invalid_params();
  const std::string request_id = opt_string(params, "request_id");
  const std::string option_id = opt_string(params, "option_id");
  if (request_id.empty() || option_id.empty())
    throw RpcError::required({"request_id", "option_id"});
  std::optional<std::string> message;
  if (const auto* m = params.if_contains("message"); m && !m->is_null()) {
    if (!m->is_string()) throw RpcError::detail("message must be a string");
    std::string_view text = m->get_string();
    if (!is_valid_utf8(text)) throw RpcError::detail("message is not valid UTF-8");
    if (text.size() > kMaxMessageBytes) throw RpcError::detail("message exceeds 65536 bytes");
    message = std::string(text);
  }
  if (plane_.answer_permission(request_id, option_id, message) != AnswerStatus::accepted)
    throw RpcError(rpc_code::no_pending_permission, "no_pending_permission");
  return object{{"accepted", true}};
}

}  // namespace avenor::host
