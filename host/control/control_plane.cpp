#include "control/control_plane.hpp"

#include <avenor/sdk/json.hpp>
#include <memory>
#include <stdexcept>

#include "control/bounded_output.hpp"

namespace avenor::host {

ControlPlane::ControlPlane(boost::asio::any_io_executor ex, std::string run_id,
                           std::string run_label, std::string identity_token)
    : hub_(std::move(ex)),
      snapshot_(std::move(run_id), std::move(run_label)),
      identity_token_(std::move(identity_token)) {}

void ControlPlane::publish(const boost::json::object& stamped) {
  snapshot_.observe(stamped);
  // The bounded shared copy is for subscribers and history only; without
  // either (the common case of a run nobody watches) it is not made.
  if (!hub_.has_subscribers() && event_runtime_id(stamped).empty()) return;
  auto bounded = std::make_shared<boost::json::object>(stamped);
  bound_final_output(*bounded);
  SharedEvent shared = std::move(bounded);
  history_.record(shared);
  hub_.publish(shared);
}

SharedEvent ControlPlane::share(std::string_view stamped_line, std::string_view runtime_id) const {
  if (!hub_.has_subscribers() && runtime_id.empty()) return nullptr;
  boost::system::error_code ec;
  boost::json::value v = sdk::json::parse(stamped_line, ec);
  if (ec || !v.is_object()) return nullptr;  // the writer made the line: cannot happen
  auto bounded = std::make_shared<boost::json::object>(std::move(v.get_object()));
  bound_final_output(*bounded);
  return bounded;
}

void ControlPlane::publish_shared(const SharedEvent& event) {
  history_.record(event);
  hub_.publish(event);
}

void ControlPlane::client_disconnected() {
  if (clients_ > 0 && --clients_ == 0 && all_gone_) all_gone_();
}

void ControlPlane::cancel() {
  if (run_) run_->cancel();
}

void ControlPlane::prompt(std::string text) {
  snapshot_.set_turn_state("idle");
  if (run_) run_->prompt(std::move(text));
}

void ControlPlane::interrupt_and_prompt(std::string text, bool keep_queue) {
  snapshot_.set_turn_state("cancelling");
  if (run_) run_->interrupt_and_prompt(std::move(text), keep_queue);
}

AnswerStatus ControlPlane::answer_permission(const std::string& request_id,
                                             const std::string& option_id,
                                             const std::optional<std::string>& message) {
  return run_ ? run_->answer_permission(request_id, option_id, message) : AnswerStatus::no_pending;
}

void ControlPlane::release_claim(const std::string& request_id) {
  if (run_) run_->release_claim(request_id);
}

std::int64_t ControlPlane::publish_event(boost::json::object event) {
  if (!publisher_) throw std::runtime_error("the run is not accepting events");
  return publisher_(std::move(event));
}

}  // namespace avenor::host
