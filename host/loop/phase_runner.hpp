// What the loop runner needs from a run: one phase (attempts, retries and
// turns, cli.md §3.4–§3.5), the stop cause, and the shared event log.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "run/markers.hpp"
#include "run/run_messages.hpp"

namespace avenor::host {

struct PhaseResult {
  int exit_code = 1;
  std::string session_id;   // the last attempt's
  std::string stop_reason;  // may be empty (exit 1 without a backend stop reason)
  DirectiveMark directive;  // merged across the phase's attempts
};

class PhaseRunner {
 public:
  virtual ~PhaseRunner() = default;
  virtual boost::asio::awaitable<PhaseResult> run_phase(std::string prompt,
                                                        std::string resume_id) = 0;
  // Set once the run was cancelled or hit its --timeout.
  virtual std::optional<StopCause> stop_cause() const = 0;
  virtual void write_event(boost::json::object event) = 0;
};

}  // namespace avenor::host
