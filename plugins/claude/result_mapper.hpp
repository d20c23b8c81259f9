// What a stream-json `result` line says about the turn it ends, and the
// session.end it becomes (docs/backends/claude.md):
//   is_error:false → stop_reason from `stop_reason` (null → end_turn;
//     stop_sequence → end_turn); subtype error_max_turns → max_turn_requests;
//   the turn was interrupted (an interrupt was sent and the result is not a
//     success, or terminal_reason starts with "aborted") → cancelled;
//   otherwise is_error:true → error, error_message = `result`, else `errors`.
// usage is normalised: input_tokens counts cache reads and writes too (Anthropic
// reports them apart), cached_read_tokens = cache_read_input_tokens.
#pragma once

#include <boost/json.hpp>
#include <string>

namespace avenor::claude {

enum class TurnResult { success, cancelled, error };

struct TurnEnd {
  std::string stop_reason;
  std::string error_message;
  std::string final_output;
  boost::json::value usage;           // normalised, or null
  boost::json::value total_cost_usd;  // number, or null
  boost::json::value num_turns;       // number, or null
  TurnResult result = TurnResult::success;

  static TurnEnd from_result(const boost::json::object& result, bool interrupt_requested);

  boost::json::object session_end(const std::string& session_id) const;
};

boost::json::value normalized_usage(const boost::json::object& usage);

}  // namespace avenor::claude
