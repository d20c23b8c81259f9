// One opencode SSE payload ({id?, type, properties}) in avenor's terms
// (backends.md §2.3): an event to emit, a session state signal for the turn
// logic, or both. The mapper remembers each part's type from
// message.part.updated, because opencode 1.18 streams reasoning deltas with
// field "text" on a part of type "reasoning".
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace avenor::opencode_http {

enum class SessionSignal { none, busy, idle, error };

// A permission request as the backend keeps it until answered.
struct PermissionRequest {
  std::string request_id;
  boost::json::array options;
};

struct MappedEvent {
  std::string type;        // the SSE payload's type
  std::string session_id;  // properties.sessionID ("" for server-wide events)
  SessionSignal signal = SessionSignal::none;
  std::string error_name;                       // with SessionSignal::error
  std::string error_message;                    // with SessionSignal::error, if the error had one
  std::optional<boost::json::object> event;     // to emit
  std::optional<PermissionRequest> permission;  // a new request to remember
  std::string answered_request_id;              // permission.replied: forget this request
  bool server_connected = false;
};

class EventMapper {
 public:
  // Parts whose type is remembered; past this the memory starts over.
  static constexpr std::size_t kMaxKnownParts = 4096;

  // Maps one SSE `data` payload; `sse_id` is the SSE event id, the fallback
  // request id of a `permission.request`. Throws std::runtime_error for a
  // payload that is not a JSON object with a string `type`.
  MappedEvent map(std::string_view payload, std::string_view sse_id = {});

 private:
  void remember_part(const boost::json::object& properties);
  std::string_view part_type(std::string_view part_id) const;

  std::unordered_map<std::string, std::string> part_types_;
};

}  // namespace avenor::opencode_http
