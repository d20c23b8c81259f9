#include "http_debug/debug_token.hpp"

#include <cstddef>

#include "util/random_hex.hpp"

namespace avenor::host {

std::string make_debug_token() { return random_hex(16); }

bool debug_token_equals(std::string_view expected, std::string_view given) {
  // An unset token must never match (the empty header).
  if (expected.empty() || expected.size() != given.size()) return false;
  // Volatile keeps the compiler from turning the loop into an early-exit
  // comparison.
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff = diff | static_cast<unsigned char>(expected[i] ^ given[i]);
  return diff == 0;
}

}  // namespace avenor::host
