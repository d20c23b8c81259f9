// pi's RPC events as avenor events (backends.md §6.3). `agent_end`,
// `extension_ui_request` and command responses are not plain mappings — they
// end turns, open dialogs and answer commands — and are handled by PiBackend.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace avenor::pi {

// The avenor events for one pi event object (its "type" decides), each with
// `session_id`. Never empty for an event pi documents, except empty deltas.
std::vector<boost::json::object> map_event(const boost::json::object& pi_event,
                                           const std::string& session_id);

// `avenor.<name>` with every field of `pi_event` but its type.
boost::json::object passthrough_event(const std::string& name, const boost::json::object& pi_event,
                                      const std::string& session_id);

}  // namespace avenor::pi
