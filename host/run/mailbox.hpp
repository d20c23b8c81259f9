// A single-consumer queue a coroutine can await. Every source a run waits on
// (backend events, finished operations, timers, signals, permission answers)
// posts into one mailbox, so the run handles them strictly one at a time.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <deque>

namespace avenor::host {

template <class Message>
class Mailbox {
 public:
  explicit Mailbox(boost::asio::any_io_executor ex) : wakeup_(ex) {}

  // `items`: how many things the message carries (a batch of events counts
  // as its events), for the backlog limit below.
  void push(Message m, std::size_t items = 1) {
    items_.push_back(Entry{std::move(m), items});
    queued_ += items;
    wakeup_.cancel();
  }

  boost::asio::awaitable<Message> pop() {
    // A flood of ready messages would otherwise keep the consumer running
    // without ever suspending, starving everything else on the loop (control
    // clients, event subscribers): yield now and then. But a backlog is
    // drained first, so producers (a backend's pipe) cannot outrun the
    // consumer and grow the queue without bound.
    if (++since_yield_ >= kYieldEvery && queued_ <= kDrainAbove) {
      since_yield_ = 0;
      co_await boost::asio::post(wakeup_.get_executor(), boost::asio::use_awaitable);
    }
    while (items_.empty()) {
      since_yield_ = 0;
      wakeup_.expires_at(boost::asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await wakeup_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    Entry e = std::move(items_.front());
    items_.pop_front();
    queued_ -= e.items;
    co_return std::move(e.message);
  }

  bool empty() const { return items_.empty(); }

  // A message taken out but only partly handled goes back to be next, with
  // the `items` it still carries.
  void push_front(Message m, std::size_t items) {
    items_.push_front(Entry{std::move(m), items});
    queued_ += items;
    wakeup_.cancel();
  }
  // For a message holding `in_hand` items still to handle (a batch of
  // events): how many the consumer may handle now, so that the mailbox
  // yields and drains as it would for as many separate messages.
  std::size_t budget(std::size_t in_hand) const {
    if (queued_ + in_hand > kDrainAbove) return in_hand;  // a backlog: drain, no yield
    return since_yield_ < kYieldEvery ? static_cast<std::size_t>(kYieldEvery - since_yield_) : 1;
  }
  // How many items of the message the consumer did handle.
  void consumed(std::size_t items) {
    if (items > 1) since_yield_ += static_cast<int>(items - 1);  // pop() counted one
  }

  template <class Pred>
  void erase_if(Pred pred) {
    std::erase_if(items_, [&pred](const Entry& e) { return pred(e.message); });
    queued_ = 0;
    for (const Entry& e : items_) queued_ += e.items;
  }

 private:
  struct Entry {
    Message message;
    std::size_t items;
  };
  static constexpr int kYieldEvery = 32;
  static constexpr std::size_t kDrainAbove = 256;
  std::deque<Entry> items_;
  std::size_t queued_ = 0;  // items in the queue
  int since_yield_ = 0;
  boost::asio::steady_timer wakeup_;
};

}  // namespace avenor::host
