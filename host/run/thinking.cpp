#include "run/thinking.hpp"

#include <avenor/abi/plugin_abi.h>

#include <array>
#include <utility>

namespace avenor::host {

std::optional<std::uint32_t> thinking_level_bit(std::string_view value) {
  static constexpr std::array<std::pair<std::string_view, std::uint32_t>, 7> kLevels{{
      {"off", AVENOR_THINKING_OFF},
      {"minimal", AVENOR_THINKING_MINIMAL},
      {"low", AVENOR_THINKING_LOW},
      {"medium", AVENOR_THINKING_MEDIUM},
      {"high", AVENOR_THINKING_HIGH},
      {"xhigh", AVENOR_THINKING_XHIGH},
      {"max", AVENOR_THINKING_MAX},
  }};
  for (const auto& [name, bit] : kLevels)
    if (name == value) return bit;
  return std::nullopt;
}

}  // namespace avenor::host
