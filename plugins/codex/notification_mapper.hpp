// codex app-server notifications → avenor events (backends.md §3.4, D11).
// Pure translation plus the item bookkeeping it needs; what a turn's start and
// end mean for the pending operations is the backend's business, so they are
// reported alongside the events.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "item_mapper.hpp"

namespace avenor::codex {

// A turn/completed with a terminal status.
struct TurnEnd {
  std::string thread_id, turn_id;
  std::string status;         // completed | interrupted | failed
  std::string error_message;  // turn.error.message, for failed turns
};

struct MappedNotification {
  std::vector<boost::json::object> events;
  std::optional<std::string> turn_started;  // turn/started: the turn's id
  std::optional<TurnEnd> turn_end;
  std::optional<std::string> diagnostic;  // codex's warnings and errors, for the ring
};

// The stop_reason of a terminal turn status, or nullopt for the others.
std::optional<std::string_view> stop_reason_for(std::string_view status);

class NotificationMapper {
 public:
  MappedNotification map(std::string_view method, const boost::json::value& params);
  void clear() { items_.clear(); }

 private:
  MappedNotification item_lifecycle(std::string_view method, const boost::json::object& params);
  MappedNotification item_delta(std::string_view method, const boost::json::object& params);
  MappedNotification generic_item_delta(const boost::json::object& params);
  static MappedNotification turn_completed(const boost::json::object& params);
  static std::optional<std::string> diagnostic(std::string_view method,
                                               const boost::json::object& params);

  ItemMapper items_;
};

}  // namespace avenor::codex
