// Wall-clock time as events and snapshots carry it: Unix milliseconds.
#pragma once

#include <chrono>
#include <cstdint>

namespace avenor::host {

inline std::int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace avenor::host
