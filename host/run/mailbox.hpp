// A single-consumer queue a coroutine can await. Every source a run waits on
// (backend events, finished operations, timers, signals, permission answers)
// posts into one mailbox, so the run handles them strictly one at a time.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>

namespace avenor::host {

template <class Message>
class Mailbox {
 public:
  explicit Mailbox(boost::asio::any_io_executor ex) : wakeup_(ex) {}

  void push(Message m) {
    items_.push_back(std::move(m));
    wakeup_.cancel();
  }

  boost::asio::awaitable<Message> pop() {
    while (items_.empty()) {
      wakeup_.expires_at(boost::asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await wakeup_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    Message m = std::move(items_.front());
    items_.pop_front();
    co_return m;
  }

  template <class Pred>
  void erase_if(Pred pred) {
    std::erase_if(items_, pred);
  }

 private:
  std::deque<Message> items_;
  boost::asio::steady_timer wakeup_;
};

}  // namespace avenor::host
