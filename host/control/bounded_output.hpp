// Control surfaces show `final_output` cut to 4096 runes with
// `final_output_truncated:true`; the log and `result` keep the full text
// (events.md §2, control.md §8).
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <string_view>

namespace avenor::host {

constexpr std::size_t kControlOutputRunes = 4096;

// Byte length of the first `max_runes` code points of UTF-8 `text` (a
// malformed byte counts as one rune).
std::size_t utf8_prefix_bytes(std::string_view text, std::size_t max_runes);

// Cuts `final_output` of `event` in place when it is longer than the limit.
void bound_final_output(boost::json::object& event);

}  // namespace avenor::host
