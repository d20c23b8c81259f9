// A one-shot flag that coroutines on one io_context can await with a
// deadline; set() wakes every waiter. The managed opencode servers use it for
// "the server exited" and "the shared start finished".
#pragma once

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <vector>

namespace avenor::host {

class ManagedEvent {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ManagedEvent(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  ManagedEvent(const ManagedEvent&) = delete;
  ManagedEvent& operator=(const ManagedEvent&) = delete;

  bool is_set() const { return set_; }

  void set() {
    set_ = true;
    for (auto* t : waiters_) t->cancel();
  }

  // True once set (at once if it already is), false when the deadline passed
  // first. Time_point::max() waits without a deadline.
  boost::asio::awaitable<bool> wait_until(Clock::time_point deadline) {
    if (set_) co_return true;
    boost::asio::steady_timer timer(ex_, deadline);
    waiters_.push_back(&timer);
    // Unregisters even when the coroutine frame is destroyed mid-wait.
    struct Unregister {
      std::vector<boost::asio::steady_timer*>& list;
      boost::asio::steady_timer* t;
      ~Unregister() { list.erase(std::remove(list.begin(), list.end(), t), list.end()); }
    } unregister{waiters_, &timer};
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return set_;
  }

 private:
  boost::asio::any_io_executor ex_;
  bool set_ = false;
  std::vector<boost::asio::steady_timer*> waiters_;  // timers of the pending waits
};

}  // namespace avenor::host
