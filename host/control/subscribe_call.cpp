#include "control/subscribe_call.hpp"

#include <map>

#include "control/control_connection.hpp"
#include "control/rpc_params.hpp"

namespace avenor::host {

using boost::json::object;
using boost::json::value;
using rpc_params::opt_bool;
using rpc_params::opt_int;
using rpc_params::opt_string;

namespace {

constexpr std::int64_t kReplayDefault = 64;
constexpr std::int64_t kReplayMax = 256;

}  // namespace

value subscribe_call(CallContext& ctx, EventHub& hub, const EventHistory& history,
                     const object& params) {
  const std::string runtime_id = opt_string(params, "runtime_id");
  const bool replay = opt_bool(params, "replay");
  std::int64_t limit = opt_int(params, "limit").value_or(kReplayDefault);
  const std::int64_t after_seq = opt_int(params, "after_seq").value_or(0);
  if (limit < 0) throw RpcError::invalid_params();
  if ((replay || after_seq > 0) && runtime_id.empty()) throw RpcError::required({"runtime_id"});
  limit = std::min(limit == 0 ? kReplayDefault : limit, kReplayMax);
  if (ctx.connection().subscription_count() >= kMaxSubscriptionsPerConnection)
    throw RpcError(rpc_code::handler_error, "too many subscriptions on this connection (max " +
                                                std::to_string(kMaxSubscriptionsPerConnection) +
                                                ")");

  auto sub = hub.subscribe(runtime_id);
  std::vector<SharedEvent> replayed;
  if (replay) replayed = history.events(runtime_id, after_seq, static_cast<std::size_t>(limit));
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

value history_call(const EventHistory& history, const object& params) {
  const std::string runtime_id = opt_string(params, "runtime_id");
  if (runtime_id.empty()) throw RpcError::required({"runtime_id"});
  std::int64_t limit = opt_int(params, "limit").value_or(0);
  const std::int64_t after_seq = opt_int(params, "after_seq").value_or(0);
  if (limit < 0) throw RpcError::invalid_params();
  boost::json::array events;
  for (const auto& e : history.events(runtime_id, after_seq, static_cast<std::size_t>(limit)))
    events.push_back(*e);
  return object{{"runtime_id", runtime_id},
                {"events", std::move(events)},
                {"latest_seq", history.latest_seq(runtime_id)}};
}

}  // namespace avenor::host
