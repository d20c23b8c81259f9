#include "request_ids.hpp"

#include <chrono>

namespace avenor::codex {

std::string request_id(std::int64_t unix_nanos, std::int64_t counter) {
  return std::to_string(unix_nanos) + "-" + std::to_string(counter);
}

std::function<std::string(std::int64_t)> clock_request_ids() {
  return [](std::int64_t counter) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return request_id(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(), counter);
  };
}

}  // namespace avenor::codex
