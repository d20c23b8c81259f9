#include "control/event_hub.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace avenor::host {

std::string_view event_runtime_id(const boost::json::object& event) {
  const auto* rt = event.if_contains("runtime_id");
  return rt && rt->is_string() ? std::string_view(rt->get_string()) : std::string_view();
}

EventSubscription::EventSubscription(boost::asio::any_io_executor ex, std::string runtime_filter,
                                     std::size_t capacity)
    : runtime_filter_(std::move(runtime_filter)), capacity_(capacity), wakeup_(std::move(ex)) {}

void EventSubscription::deliver(const SharedEvent& event) {
  if (closed_) return;
  if (!runtime_filter_.empty() && event_runtime_id(*event) != runtime_filter_) return;
  if (queue_.size() >= capacity_) {
    queue_.pop_front();
    ++dropped_;
  }
  queue_.push_back(event);
  wakeup_.cancel();
}

SharedEvent EventSubscription::pop() {
  SharedEvent e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

std::size_t EventSubscription::take_dropped() {
  std::size_t n = dropped_;
  dropped_ = 0;
  return n;
}

boost::asio::awaitable<void> EventSubscription::wait() {
  while (queue_.empty() && !closed_) {
    wakeup_.expires_at(boost::asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await wakeup_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
}

void EventSubscription::close() {
  closed_ = true;
  wakeup_.cancel();
}

std::shared_ptr<EventSubscription> EventHub::subscribe(std::string runtime_filter,
                                                       std::size_t capacity) {
  auto sub = std::make_shared<EventSubscription>(ex_, std::move(runtime_filter), capacity);
  subscriptions_.push_back(sub);
  return sub;
}

void EventHub::publish(const SharedEvent& event) {
  std::erase_if(subscriptions_, [&](const std::weak_ptr<EventSubscription>& w) {
    auto sub = w.lock();
    if (!sub || sub->closed()) return true;
    sub->deliver(event);
    return false;
  });
}

void EventHub::close_all() {
  for (auto& w : subscriptions_)
    if (auto sub = w.lock()) sub->close();
  subscriptions_.clear();
}

}  // namespace avenor::host
