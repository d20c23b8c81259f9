// Strict UTF-8 validation (no overlongs, surrogates or code points above
// U+10FFFF), for client-supplied text such as permission write-in messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace avenor::host {

bool is_valid_utf8(std::string_view text);

// The length a UTF-8 sequence claims by its lead byte (2, 3 or 4), 1 for an
// ASCII or invalid lead byte: for stepping over characters leniently.
constexpr std::size_t utf8_lead_length(unsigned char lead) {
  return lead < 0x80           ? 1
         : (lead >> 5) == 0x6  ? 2
         : (lead >> 4) == 0xE  ? 3
         : (lead >> 3) == 0x1E ? 4
                               : 1;
}

// `text` with every byte that starts no valid sequence replaced by U+FFFD, so
// it can go into JSON (process output, file contents).
std::string to_valid_utf8(std::string_view text);

}  // namespace avenor::host
