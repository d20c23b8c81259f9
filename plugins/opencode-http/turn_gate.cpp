#include "turn_gate.hpp"

#include <utility>

#include "stop_reason.hpp"

namespace avenor::opencode_http {

void TurnGate::begin() {
  *this = TurnGate{};
  open_ = true;
}

void TurnGate::busy() {
  if (open_) busy_ = true;
}

void TurnGate::error(std::string name, std::string message) {
  if (!open_) return;
  stream_error_name_ = std::move(name);
  stream_error_message_ = std::move(message);
}

TurnGate::Step TurnGate::idle() {
  if (!open_ || !busy_ || idle_) return Step::wait;
  idle_ = true;
  if (!response_) return Step::arm_timer;
  return response_->stop_reason.empty() ? end_from_stream() : end_with_response();
}

TurnGate::Step TurnGate::response(PromptResult result, bool stream_can_idle) {
  if (!open_ || response_) return Step::wait;
  response_ = std::move(result);
  // A response without a finish reason ends nothing: the stream's idle must.
  if (response_->stop_reason.empty()) return idle_ ? end_from_stream() : Step::wait;
  if (idle_ || !stream_can_idle) return end_with_response();
  return Step::arm_timer;
}

TurnGate::Step TurnGate::timer() {
  if (!open_ || ending_) return Step::wait;
  if (response_ && !response_->stop_reason.empty()) return end_with_response();
  if (idle_) return end_from_stream();
  return Step::wait;
}

TurnGate::Step TurnGate::end_with_response() {
  Ending e;
  e.stop_reason = response_->stop_reason;
  e.usage = response_->usage;
  e.error_name = response_->error_name;
  e.error_message = response_->error_message;
  e.reply_text = response_->text;
  ending_ = std::move(e);
  return Step::end;
}

TurnGate::Step TurnGate::end_from_stream() {
  Ending e;
  e.from_stream = true;
  e.error_name = stream_error_name_;
  e.error_message = stream_error_message_;
  e.stop_reason = stream_error_name_.empty() ? std::string("end_turn")
                                             : stop_reason_for_error(stream_error_name_);
  if (response_) {
    e.usage = response_->usage;
    e.reply_text = response_->text;
  }
  ending_ = std::move(e);
  return Step::end;
}

TurnGate::Ending TurnGate::take_ending() {
  open_ = false;
  Ending e = ending_ ? std::move(*ending_) : Ending{};
  ending_.reset();
  return e;
}

}  // namespace avenor::opencode_http
