// pi's streaming `message_update {assistantMessageEvent}` as avenor events
// (backends.md §6.3): text and thinking deltas become chunks, tool-call
// streaming becomes tool.call / tool.call_update, everything else only an
// `avenor.message.update` that keeps the sub-event's small fields.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace avenor::pi {

std::vector<boost::json::object> map_message_update(const boost::json::object& pi_event,
                                                    const std::string& session_id);

}  // namespace avenor::pi
