#include "session_ids.hpp"

#include <array>
#include <memory>
#include <random>

namespace avenor::claude {

SessionIds::SessionIds(std::function<std::uint64_t()> random) : random_(std::move(random)) {
  if (!random_) {
    random_ = [device = std::make_shared<std::random_device>()] {
      return (std::uint64_t{(*device)()} << 32) | (*device)();
    };
  }
}

std::string SessionIds::new_session_uuid() {
  std::array<unsigned char, 16> b{};
  const std::uint64_t hi = random_(), lo = random_();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 0x0f];
  }
  return s;
}

std::string SessionIds::next_request_id() { return "avenor-" + std::to_string(++counter_); }

}  // namespace avenor::claude
