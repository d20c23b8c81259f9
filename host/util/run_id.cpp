#include "util/run_id.hpp"

#include <random>

namespace avenor::host {

std::string generate_run_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  // random_device is the OS entropy source; two runs started in the same
  // instant must still get different ids, so no time-seeded PRNG.
  std::random_device rd;
  std::string id;
  id.reserve(16);
  for (int word = 0; word < 2; ++word) {
    auto bits = static_cast<std::uint32_t>(rd());
    for (int i = 0; i < 8; ++i, bits >>= 4) id.push_back(kHex[bits & 0xF]);
  }
  return id;
}

}  // namespace avenor::host
