// Per-runtime history for `history` and `subscribe` replay (control.md §8):
// the last 256 events of each non-empty runtime id, plus the newest seq ever
// assigned to it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "control/event_hub.hpp"

namespace avenor::host {

class EventHistory {
 public:
  static constexpr std::size_t kDepth = 256;

  // Keeps the event when it carries a non-empty runtime_id.
  void record(const SharedEvent& event);

  // Events of `runtime_id` with seq > after_seq, the newest `limit` of them
  // (limit 0 = all kept), oldest first.
  std::vector<SharedEvent> events(const std::string& runtime_id, std::int64_t after_seq,
                                  std::size_t limit) const;
  std::int64_t latest_seq(const std::string& runtime_id) const;

 private:
  struct Ring {
    std::deque<SharedEvent> events;
    std::int64_t latest_seq = 0;
  };
  std::map<std::string, Ring, std::less<>> rings_;
};

// The seq of an event (0 when it has none).
std::int64_t event_seq(const boost::json::object& event);

}  // namespace avenor::host
