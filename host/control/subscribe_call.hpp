// `subscribe` and `history` (control.md §8) over any hub and history: the
// single run and the supervisor answer them the same way.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>

#include "control/control_methods.hpp"
#include "control/event_history.hpp"
#include "control/event_hub.hpp"

namespace avenor::host {

// Each subscription costs a queue and a filter pass per event, so one
// connection may hold at most this many; more → -32000 (issue 15).
constexpr std::size_t kMaxSubscriptionsPerConnection = 8;

// Adds the subscription once the `{"subscribed":true}` response is queued.
boost::json::value subscribe_call(CallContext& ctx, EventHub& hub, const EventHistory& history,
                                  const boost::json::object& params);

// `{runtime_id, events, latest_seq}`; runtime_id is required.
boost::json::value history_call(const EventHistory& history, const boost::json::object& params);

}  // namespace avenor::host
