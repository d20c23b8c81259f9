#include "random_ids.hpp"

namespace avenor::claude_channel {

std::string RandomIds::hex(std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n);
  std::uniform_int_distribution<int> nibble(0, 15);
  for (std::size_t i = 0; i < n; ++i) out += kDigits[nibble(rng_)];
  return out;
}

std::string RandomIds::uuid() {
  std::string h = hex(32);
  h[12] = '4';                                            // version 4
  h[16] = "89ab"[static_cast<unsigned char>(h[16]) % 4];  // RFC 4122 variant
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

}  // namespace avenor::claude_channel
