// `watch --follow --until-end` (events.md §8.8): decides when the log has
// reached its final terminal event, from the lines seen in order.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>

namespace avenor::host::watch {

class UntilEndTracker {
 public:
  // How long a session.end whose stop reason maps to exit 1 waits for a
  // retry (avenor.retry follows within it) before it counts as final.
  static constexpr std::chrono::seconds kGrace{10};

  enum class Verdict {
    keep_watching,
    stop_now,          // a terminal event: stop after the lines already readable
    stop_after_grace,  // stop unless another complete line arrives within kGrace
  };

  // Every complete non-empty line, in order; `event` is null for a line that
  // is not a JSON object. Any line cancels a pending grace stop.
  Verdict observe(const boost::json::object* event);

  // A session.end mapping to exit 1 was the last line seen.
  bool grace_pending() const { return grace_pending_; }
  bool loop_log() const { return loop_log_; }
  int loop_depth() const { return depth_; }

 private:
  bool loop_log_ = false;
  int depth_ = 0;
  bool grace_pending_ = false;
};

}  // namespace avenor::host::watch
