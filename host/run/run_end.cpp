#include "run/run_end.hpp"

#include "run/run_engine.hpp"
#include "run/run_turn.hpp"
#include "run/sentinel.hpp"

namespace avenor::host {

boost::json::object synthetic_session_end(std::string_view session_id, std::string_view stop_reason,
                                          std::string_view error) {
  boost::json::object end{{"event", "session.end"},
                          {"stop_reason", stop_reason},
                          {"exit_code", exit_code_for_stop_reason(stop_reason)}};
  if (!session_id.empty()) end["session_id"] = session_id;
  if (!error.empty()) end["error"] = error;
  return end;
}

void LogEnding::observe(std::string_view event_type) {
  if (event_type == "avenor.loop.start") ++open_loops_;
  if (event_type == "avenor.loop.end" && open_loops_ > 0) --open_loops_;
  last_was_end_ = event_type == "session.end";
}

// The turn's buffered usage and output go with it (events.md §5.4), and the
// status tracker reports `done` first, as for a backend's session.end.
void RunEngine::write_turn_end(Turn& turn, std::string_view stop_reason, const std::string& error) {
  if (turn.end_written) return;
  boost::json::object end = synthetic_session_end(turn.session_id, stop_reason, error);
  if (turn.usage) end["usage"] = *turn.usage;
  if (!turn.output.empty()) end["final_output"] = turn.output;
  if (auto c = status_.observe(end)) write_status(c->phase, c->label, "avenor", turn.session_id);
  write(std::move(end));
  turn.end_written = true;
}

void RunEngine::write_end(const std::string& session_id, std::string_view stop_reason,
                          const std::string& error) {
  write(synthetic_session_end(session_id, stop_reason, error));
}

void RunEngine::end_log_after_failure(const std::string& error) {
  if (log_ending_.open_loops() > 0) {
    // Innermost first, so the outermost avenor.loop.end is the last line.
    while (log_ending_.open_loops() > 0 && !write_failed_) {
      write(boost::json::object{{"event", "avenor.loop.end"},
                                {"exit_reason", "error"},
                                {"iterations_completed", 0},
                                {"error", error}});
    }
    return;
  }
  if (!log_ending_.ends_with_session_end()) write_end({}, "error", error);
}

}  // namespace avenor::host
