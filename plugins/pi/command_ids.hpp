// Ids for commands sent to pi (backends.md §6.2): `avenor-<nanos>-<counter>`.
// The timestamp keeps ids from different avenor processes apart in a shared
// log; the counter keeps them unique within one process.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace avenor::pi {

class CommandIds {
 public:
  using Clock = std::function<std::int64_t()>;  // nanoseconds since the epoch

  CommandIds();  // the system clock
  explicit CommandIds(Clock clock) : clock_(std::move(clock)) {}

  std::string next();

 private:
  Clock clock_;
  std::uint64_t counter_ = 0;
};

}  // namespace avenor::pi
