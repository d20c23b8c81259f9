// A step started on first demand and shared by every caller that needs it (a
// protocol handshake): callers that come while it runs wait for it, later
// callers get its outcome at once.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace avenor::sdk {

class StartOnce {
 public:
  using Waiter = std::function<void(const std::optional<std::string>& error)>;

  // Runs `next` once the step has finished, calling `start` if this is the
  // first demand. `start` must end with finish().
  void after(Waiter next, const std::function<void()>& start) {
    switch (state_) {
      case State::done:
        return next(std::nullopt);
      case State::failed:
        return next(error_);
      case State::running:
        waiters_.push_back(std::move(next));
        return;
      case State::not_started:
        break;
    }
    state_ = State::running;
    waiters_.push_back(std::move(next));
    start();
  }

  // The step's outcome (nullopt: success), handed to every waiter.
  void finish(std::optional<std::string> error) {
    state_ = error ? State::failed : State::done;
    if (error) error_ = *error;
    for (Waiter& waiter : std::exchange(waiters_, {})) waiter(error);
  }

 private:
  enum class State { not_started, running, done, failed };
  State state_ = State::not_started;
  std::string error_;
  std::vector<Waiter> waiters_;
};

}  // namespace avenor::sdk
