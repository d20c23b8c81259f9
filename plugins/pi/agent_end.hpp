// What pi's `agent_end {messages, willRetry?}` says about the turn it closes
// (backends.md §6.3, D11): the stop reason in avenor's vocabulary, the final
// text, the error message and the turn's token usage.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::pi {

// pi's camelCase stopReason in avenor's vocabulary: stop → end_turn,
// length → max_tokens, toolUse → tool_use, aborted → cancelled,
// error → error; anything else is passed on verbatim.
std::string map_stop_reason(std::string_view pi_stop_reason);

struct AgentEnd {
  bool will_retry = false;
  std::string stop_reason;                   // avenor's vocabulary ("" when pi gave none)
  std::string final_output;                  // text of the last assistant message
  std::string error_message;                 // the last message's errorMessage, if any
  std::optional<boost::json::object> usage;  // summed over the assistant messages

  static AgentEnd from_event(const boost::json::object& agent_end);
};

// The text blocks of one pi message, concatenated (content may also be a string).
std::string message_text(const boost::json::object& message);

// How a prompt call ends for a turn that stopped with `stop_reason`
// (backends.md §6.2): end_turn, end_of_turn and unknown reasons succeed;
// cancelled and error fail.
enum class TurnResult { success, cancelled, error };
TurnResult turn_result(std::string_view stop_reason);

// `session.end` for `end` in session `session_id`.
boost::json::object session_end_event(const AgentEnd& end, const std::string& session_id);

}  // namespace avenor::pi
