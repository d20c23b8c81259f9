// A single-consumer queue a coroutine can await. Every source a run waits on
// (backend events, finished operations, timers, signals, permission answers)
// posts into one mailbox, so the run handles them strictly one at a time.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
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
    // A flood of ready messages would otherwise keep the consumer running
    // without ever suspending, starving everything else on the loop (control
    // clients, event subscribers): yield now and then. But a backlog is
    // drained first, so producers (a backend's pipe) cannot outrun the
    // consumer and grow the queue without bound.
    if (++since_yield_ >= kYieldEvery && items_.size() <= kDrainAbove) {
      since_yield_ = 0;
      co_await boost::asio::post(wakeup_.get_executor(), boost::asio::use_awaitable);
    }
    while (items_.empty()) {
      since_yield_ = 0;
      wakeup_.expires_at(boost::asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await wakeup_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    Message m = std::move(items_.front());
    items_.pop_front();
    co_return m;
  }

  bool empty() const { return items_.empty(); }

  template <class Pred>
  void erase_if(Pred pred) {
    std::erase_if(items_, pred);
  }

 private:
  static constexpr int kYieldEvery = 32;
  static constexpr std::size_t kDrainAbove = 256;
  std::deque<Message> items_;
  int since_yield_ = 0;
  boost::asio::steady_timer wakeup_;
};

}  // namespace avenor::host
