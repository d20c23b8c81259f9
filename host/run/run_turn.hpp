// One turn's state, shared by the RunEngine translation units
// (run_engine.cpp drives the turn, run_permissions.cpp answers its
// permission requests). Internal to the engine: include only from run/.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>

#include "run/run_engine.hpp"

namespace avenor::host {

struct RunEngine::Turn {
  unsigned generation = 0;
  std::string session_id;
  std::string* attempt_session_id = nullptr;  // follows an adopted id (cli.md §3.5 step 7)
  bool prompt_returned = false;
  bool end_written = false;
  std::string stop_reason;
  std::optional<boost::json::value> usage;
  std::string output;
  std::optional<TurnResult> result;     // the turn must end now with this
  std::optional<std::string> stop_now;  // the turn must be cancelled with this reason
};

}  // namespace avenor::host
