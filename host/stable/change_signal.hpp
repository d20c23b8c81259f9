// A broadcast wake-up on the event loop: coroutines wait until the next
// notify() (or a deadline) and then re-check whatever condition they need.
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

class ChangeSignal {
 public:
  // Wakes every waiter.
  void notify() {
    for (auto* t : waiters_) t->cancel();
  }

  // True when notified, false when `deadline` passed first.
  boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    timer.expires_at(deadline);
    waiters_.push_back(&timer);
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &timer));
    co_return ec == boost::asio::error::operation_aborted;
  }

  boost::asio::awaitable<bool> wait_for(std::chrono::steady_clock::duration d) {
    return wait_until(std::chrono::steady_clock::now() + d);
  }

 private:
  std::vector<boost::asio::steady_timer*> waiters_;
};

}  // namespace avenor::host
