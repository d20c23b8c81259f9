#include "command_ids.hpp"

#include <chrono>

namespace avenor::pi {

CommandIds::CommandIds()
    : clock_([] {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      }) {}

std::string CommandIds::next() {
  return "avenor-" + std::to_string(clock_()) + "-" + std::to_string(++counter_);
}

}  // namespace avenor::pi
