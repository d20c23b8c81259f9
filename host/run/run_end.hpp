// How a run's log ends (new; events.md §5): every ended attempt and every
// ended run leaves a terminal event, also when avenor ended it before the
// backend said anything, so `watch --follow --until-end` never waits on a
// log that will not grow again.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

namespace avenor::host {

// The session.end avenor writes itself: `stop_reason`, `exit_code` (the
// stop reason's, events.md §4), `session_id` when known and, for a failure,
// `error` (the reason in one line).
boost::json::object synthetic_session_end(std::string_view session_id, std::string_view stop_reason,
                                          std::string_view error = {});

// What a log needs to be ended after a failure outside the turn loop: the
// loops it opened must be closed (the outermost avenor.loop.end is a loop
// log's end), and a plain log needs a session.end unless it already ends
// with one.
class LogEnding {
 public:
  void observe(std::string_view event_type);

  int open_loops() const { return open_loops_; }
  bool ends_with_session_end() const { return last_was_end_; }

 private:
  int open_loops_ = 0;
  bool last_was_end_ = false;
};

}  // namespace avenor::host
