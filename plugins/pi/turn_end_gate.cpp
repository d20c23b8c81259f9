#include "turn_end_gate.hpp"

#include <avenor/sdk/json.hpp>
#include <utility>

namespace avenor::pi {

namespace json = sdk::json;
using Kind = TurnEndGate::Action::Kind;

void TurnEndGate::reset() {
  state_ = State::running;
  held_.reset();
  abort_requested_ = false;
}

TurnEndGate::Action TurnEndGate::on_agent_end(AgentEnd end) {
  if (end.will_retry) {
    state_ = State::between_retries;
    held_ = end;
    return {Kind::retrying, std::move(end)};
  }
  if (end.stop_reason == "error") {
    state_ = State::probing;
    held_ = std::move(end);
    return {Kind::probe, {}};
  }
  state_ = State::running;
  held_.reset();
  return {Kind::finish, std::move(end)};
}

TurnEndGate::Action TurnEndGate::on_event(std::string_view type, const boost::json::object& e) {
  switch (state_) {
    case State::running:
      return {};
    case State::probing:
      if (type == "auto_retry_start") {
        state_ = State::between_retries;
        held_->will_retry = true;
        return {Kind::retrying, *held_};
      }
      if (type == "compaction_start") {
        state_ = State::compacting;
        return {};
      }
      if (type == "auto_retry_end") return finish_held();  // retries exhausted
      return {};
    case State::compacting:
      if (type != "compaction_end") return {};
      if (json::bool_or(e, "willRetry")) {
        state_ = State::between_retries;
        held_->will_retry = true;
        return {Kind::retrying, *held_};
      }
      return finish_held();
    case State::between_retries:
      if (type == "agent_start") {
        state_ = State::running;
        held_.reset();
        return {};
      }
      // Given up while waiting to retry: an abort during the back-off sleep
      // ("Retry cancelled") ends the turn with no further agent_end.
      if (type == "auto_retry_end" && !json::bool_or(e, "success"))
        return given_up(json::string_or(e, "finalError"));
      return {};
  }
  return {};
}

TurnEndGate::Action TurnEndGate::on_probe_answered() {
  if (state_ != State::probing) return {};
  return finish_held();
}

TurnEndGate::Action TurnEndGate::on_abort_answered() {
  if (state_ != State::between_retries) return {};
  return given_up("Retry cancelled");
}

TurnEndGate::Action TurnEndGate::finish_held() {
  state_ = State::running;
  AgentEnd end = held_ ? std::move(*held_) : AgentEnd{};
  held_.reset();
  end.will_retry = false;
  return {Kind::finish, std::move(end)};
}

TurnEndGate::Action TurnEndGate::given_up(std::string_view final_error) {
  state_ = State::running;
  AgentEnd end = held_ ? std::move(*held_) : AgentEnd{};
  held_.reset();
  end.will_retry = false;
  const bool cancelled = abort_requested_ || final_error == "Retry cancelled";
  end.stop_reason = cancelled ? "cancelled" : "error";
  if (!final_error.empty()) end.error_message = std::string(final_error);
  return {Kind::finish, std::move(end)};
}

}  // namespace avenor::pi
