// When a turn of one session ends (backends.md §2.4). Two sources can say so:
// the response to POST /session/{id}/message (primary: it names the finish
// reason and the usage) and the SSE stream's busy → idle transition
// (fallback). They travel on different connections, so either may come first:
//  - response first: while the stream is up (or reconnecting), wait up to a
//    short settle time for its busy → idle, so the stream's last events (text
//    deltas, tool updates) are emitted before session.end even when the
//    stream lags behind the response;
//  - idle first: wait up to the same time for the response and use it; if it
//    does not come, end with what the stream said (stop reason from the last
//    session.error, else end_turn).
// At most one end per turn; begin() opens the next turn.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "prompt_exchange.hpp"

namespace avenor::opencode_http {

class TurnGate {
 public:
  enum class Step {
    wait,       // nothing to do yet
    arm_timer,  // wait for the other source, at most the settle time
    end,        // emit ending() now
  };

  struct Ending {
    std::string stop_reason;
    std::optional<boost::json::object> usage;
    std::string error_name, error_message;
    std::string reply_text;  // the response's text parts ("" when ended by the stream)
    bool from_stream = false;
  };

  // A prompt was sent: a new turn is open.
  void begin();
  bool open() const { return open_; }

  // --- from the event stream ---
  void busy();
  void error(std::string name, std::string message);
  // busy → idle: the turn is over as far as the stream can tell.
  Step idle();
  void text_seen() { text_seen_ = true; }
  bool saw_text() const { return text_seen_; }

  // --- from the POST response ---
  // `stream_can_idle`: the event stream is up or reconnecting, so an idle may
  // still follow.
  // A response without a stop reason (empty finish, no error) ends nothing by
  // itself; the prompt call may return, and the stream's idle ends the turn.
  Step response(PromptResult result, bool stream_can_idle);
  bool has_response() const { return response_.has_value(); }

  // --- the settle timer fired ---
  Step timer();

  // Valid after a Step::end; closes the turn.
  Ending take_ending();

 private:
  Step end_with_response();
  Step end_from_stream();

  bool open_ = false;
  bool busy_ = false;
  bool idle_ = false;
  bool text_seen_ = false;
  std::optional<PromptResult> response_;
  std::string stream_error_name_, stream_error_message_;
  std::optional<Ending> ending_;
};

}  // namespace avenor::opencode_http
