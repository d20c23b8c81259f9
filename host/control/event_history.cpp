#include "control/event_history.hpp"

#include "util/json_number.hpp"

namespace avenor::host {

std::int64_t event_seq(const boost::json::object& event) {
  return json_int64(event.if_contains("seq")).value_or(0);
}

void EventHistory::record(const SharedEvent& event) {
  const std::string_view runtime_id = event_runtime_id(*event);
  if (runtime_id.empty()) return;
  Ring& ring = rings_[std::string(runtime_id)];
  ring.latest_seq = std::max(ring.latest_seq, event_seq(*event));
  ring.events.push_back(event);
  if (ring.events.size() > kDepth) ring.events.pop_front();
}

std::vector<SharedEvent> EventHistory::events(const std::string& runtime_id, std::int64_t after_seq,
                                              std::size_t limit) const {
  std::vector<SharedEvent> out;
  auto it = rings_.find(runtime_id);
  if (it == rings_.end()) return out;
  for (const auto& e : it->second.events)
    if (event_seq(*e) > after_seq) out.push_back(e);
  if (limit > 0 && out.size() > limit) out.erase(out.begin(), out.end() - limit);
  return out;
}

std::int64_t EventHistory::latest_seq(const std::string& runtime_id) const {
  auto it = rings_.find(runtime_id);
  return it == rings_.end() ? 0 : it->second.latest_seq;
}

}  // namespace avenor::host
