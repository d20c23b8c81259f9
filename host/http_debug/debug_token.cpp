#include "http_debug/debug_token.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <system_error>

namespace avenor::host {

std::string make_debug_token() {
  std::array<unsigned char, 16> bytes{};
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "read random bytes for the token");
    }
    filled += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  token.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 0x0f]);
  }
  return token;
}

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
