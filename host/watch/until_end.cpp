#include "watch/until_end.hpp"

#include <string>

#include "run/sentinel.hpp"
#include "watch/event_excerpt.hpp"

namespace avenor::host::watch {

UntilEndTracker::Verdict UntilEndTracker::observe(const boost::json::object* event) {
  grace_pending_ = false;
  if (event == nullptr) return Verdict::keep_watching;
  const std::string name = event_name(*event);
  if (name.starts_with("avenor.loop.") || name.starts_with("avenor.phase.")) loop_log_ = true;
  if (name == "avenor.loop.start") {
    ++depth_;
    return Verdict::keep_watching;
  }
  if (name == "avenor.loop.end") {
    if (depth_ > 0) --depth_;
    return depth_ == 0 ? Verdict::stop_now : Verdict::keep_watching;
  }
  // In a loop log each phase's turns end with session.end; only the
  // outermost avenor.loop.end is final.
  if (name != "session.end" || loop_log_) return Verdict::keep_watching;
  if (exit_code_for_stop_reason(string_field(*event, "stop_reason")) != 1) return Verdict::stop_now;
  grace_pending_ = true;
  return Verdict::stop_after_grace;
}

}  // namespace avenor::host::watch
