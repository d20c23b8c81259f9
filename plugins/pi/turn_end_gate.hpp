// Decides which pi `agent_end` ends avenor's turn (backends.md §6.3, D11).
//
// D11 says an agent_end with willRetry:true is not terminal. pi 0.73.1 never
// sends willRetry on agent_end; instead, after an agent_end whose last message
// failed with a retryable error, it emits `auto_retry_start`, sleeps, and runs
// the turn again (agent_start … agent_end), or `auto_retry_end {success:false}`
// once it gives up. A context-overflow error is handled by compaction instead:
// `compaction_start` … `compaction_end {willRetry}`. pi writes the follow-up
// event in the same step as the agent_end, before reading any further command,
// so a cheap command sent after an erroring agent_end (a probe) is answered
// only after that follow-up: when the probe's answer arrives first, nothing
// follows and the agent_end was the last word.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string_view>

#include "agent_end.hpp"

namespace avenor::pi {

class TurnEndGate {
 public:
  struct Action {
    enum class Kind {
      none,      // nothing to do yet
      finish,    // the turn is over: emit session.end for `end`
      retrying,  // not terminal: emit avenor.agent_end for `end`
      probe      // send a probe and call probe_answered() with its answer
    };
    Kind kind = Kind::none;
    AgentEnd end;
  };

  // A new prompt starts.
  void reset();

  Action on_agent_end(AgentEnd end);
  // Every other pi event, by type (agent_start, auto_retry_*, compaction_*).
  Action on_event(std::string_view type, const boost::json::object& event);
  Action on_probe_answered();
  // avenor asked pi to abort, and pi answered.
  void on_abort_requested() { abort_requested_ = true; }
  Action on_abort_answered();

  bool waiting_for_probe() const { return state_ == State::probing; }

 private:
  enum class State { running, probing, compacting, between_retries };

  Action finish_held();
  Action given_up(std::string_view final_error);

  State state_ = State::running;
  std::optional<AgentEnd> held_;  // the erroring agent_end under judgement
  bool abort_requested_ = false;
};

}  // namespace avenor::pi
