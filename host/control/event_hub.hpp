// Live fan-out of published events to control clients (control.md §8). Each
// subscription has a bounded queue: a slow reader loses its oldest events
// (counted), never stalls the run or another reader.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace avenor::host {

using SharedEvent = std::shared_ptr<const boost::json::object>;

// The runtime an event belongs to ("" when it carries no runtime_id):
// subscriptions filter on it, history and seq ordering are kept per it.
std::string_view event_runtime_id(const boost::json::object& event);

class EventSubscription {
 public:
  static constexpr std::size_t kCapacity = 256;

  EventSubscription(boost::asio::any_io_executor ex, std::string runtime_filter,
                    std::size_t capacity = kCapacity);

  // Hub side. Ignores events that do not match the runtime filter.
  void deliver(const SharedEvent& event);

  // Reader side.
  bool empty() const { return queue_.empty(); }
  SharedEvent pop();
  // Events dropped since the last call (the reader owes a lag notice).
  std::size_t take_dropped();
  // Completes when an event is queued or the subscription is closed.
  boost::asio::awaitable<void> wait();
  void close();
  bool closed() const { return closed_; }

 private:
  std::string runtime_filter_;
  std::size_t capacity_;
  std::deque<SharedEvent> queue_;
  std::size_t dropped_ = 0;
  bool closed_ = false;
  boost::asio::steady_timer wakeup_;
};

class EventHub {
 public:
  explicit EventHub(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}

  // `runtime_filter` empty = every event; else only events whose
  // runtime_id equals it.
  std::shared_ptr<EventSubscription> subscribe(std::string runtime_filter,
                                               std::size_t capacity = EventSubscription::kCapacity);
  // Delivers to every open subscription; closed or dropped ones are pruned.
  void publish(const SharedEvent& event);
  // False only when nobody could receive a published event.
  bool has_subscribers() const { return !subscriptions_.empty(); }
  // Closes every subscription (the control surfaces are stopping).
  void close_all();

 private:
  boost::asio::any_io_executor ex_;
  std::vector<std::weak_ptr<EventSubscription>> subscriptions_;
};

}  // namespace avenor::host
