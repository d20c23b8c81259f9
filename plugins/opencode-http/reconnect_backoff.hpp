// The event stream's reconnect delays (backends.md §2.5): 100 ms, doubling
// up to 1.6 s, forever; back to 100 ms once a connection delivered data.
#pragma once

#include <algorithm>
#include <chrono>

namespace avenor::opencode_http {

class ReconnectBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{100};
  static constexpr std::chrono::milliseconds kMax{1600};

  // The delay before the next attempt; each call doubles the one after.
  std::chrono::milliseconds next() {
    auto delay = next_;
    next_ = std::min(next_ * 2, kMax);
    return delay;
  }
  void reset() { next_ = kFirst; }

 private:
  std::chrono::milliseconds next_ = kFirst;
};

}  // namespace avenor::opencode_http
