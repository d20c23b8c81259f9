#include "control/event_history.hpp"

namespace avenor::host {

std::int64_t event_seq(const boost::json::object& event) {
  const auto* v = event.if_contains("seq");
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return 0;
}

void EventHistory::record(const SharedEvent& event) {
  const auto* rt = event->if_contains("runtime_id");
  if (!rt || !rt->is_string() || rt->get_string().empty()) return;
  Ring& ring = rings_[std::string(rt->get_string())];
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
