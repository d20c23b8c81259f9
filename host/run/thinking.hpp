// The --thinking vocabulary and which backends accept which level (cli.md §3.13).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace avenor::host {

// The avenor_thinking_level bit of a value, or nullopt outside the vocabulary.
// Values match exactly: lowercase, no normalization.
std::optional<std::uint32_t> thinking_level_bit(std::string_view value);

}  // namespace avenor::host
