// The --thinking vocabulary and which backends accept which level (cli.md §3.13).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::host {

// The avenor_thinking_level bit of a value, or nullopt outside the vocabulary.
// Values match exactly: lowercase, no normalization.
std::optional<std::uint32_t> thinking_level_bit(std::string_view value);

// The levels of an avenor_thinking_level mask, in vocabulary order, joined by
// ", " ("low, medium, high"); empty for 0. Messages list them so a rejected
// value tells what to use instead.
std::string thinking_level_names(std::uint32_t mask);

// Every value --thinking takes, in order ("off, minimal, ..., max").
std::string thinking_vocabulary();

}  // namespace avenor::host
