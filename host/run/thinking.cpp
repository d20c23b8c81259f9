#include "run/thinking.hpp"

#include <avenor/abi/plugin_abi.h>

#include <array>
#include <utility>

namespace avenor::host {

namespace {

constexpr std::array<std::pair<std::string_view, std::uint32_t>, 7> kLevels{{
    {"off", AVENOR_THINKING_OFF},
    {"minimal", AVENOR_THINKING_MINIMAL},
    {"low", AVENOR_THINKING_LOW},
    {"medium", AVENOR_THINKING_MEDIUM},
    {"high", AVENOR_THINKING_HIGH},
    {"xhigh", AVENOR_THINKING_XHIGH},
    {"max", AVENOR_THINKING_MAX},
}};

}  // namespace

std::optional<std::uint32_t> thinking_level_bit(std::string_view value) {
  for (const auto& [name, bit] : kLevels)
    if (name == value) return bit;
  return std::nullopt;
}

std::string thinking_level_names(std::uint32_t mask) {
  std::string names;
  for (const auto& [name, bit] : kLevels) {
    if ((mask & bit) == 0) continue;
    if (!names.empty()) names += ", ";
    names += name;
  }
  return names;
}

std::string thinking_vocabulary() {
  std::uint32_t all = 0;
  for (const auto& level : kLevels) all |= level.second;
  return thinking_level_names(all);
}

}  // namespace avenor::host
