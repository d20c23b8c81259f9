#include "control_client/tail_queue.hpp"

#include <stdexcept>

namespace avenor::host::control_client {

TailQueue::TailQueue(std::size_t capacity) : capacity_(capacity) {
  if (capacity_ == 0) throw std::invalid_argument("TailQueue capacity must be positive");
}

void TailQueue::push(std::string line) {
  {
    std::lock_guard lock(mutex_);
    if (lines_.size() == capacity_) {
      lines_.pop_front();
      ++dropped_;
    }
    lines_.push_back(std::move(line));
  }
  ready_.notify_one();
}

void TailQueue::close(std::optional<std::string> error) {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    if (error && !error_) error_ = std::move(error);
  }
  ready_.notify_one();
}

std::optional<TailQueue::Item> TailQueue::pop() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [this] { return !lines_.empty() || closed_; });
  if (lines_.empty()) return std::nullopt;
  Item item{dropped_, std::move(lines_.front()), false};
  lines_.pop_front();
  dropped_ = 0;
  item.more_ready = !lines_.empty();
  return item;
}

std::optional<std::string> TailQueue::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace avenor::host::control_client
