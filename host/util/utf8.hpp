// Strict UTF-8 validation (no overlongs, surrogates or code points above
// U+10FFFF), for client-supplied text such as permission write-in messages.
#pragma once

#include <string>
#include <string_view>

namespace avenor::host {

bool is_valid_utf8(std::string_view text);

// `text` with every byte that starts no valid sequence replaced by U+FFFD, so
// it can go into JSON (process output, file contents).
std::string to_valid_utf8(std::string_view text);

}  // namespace avenor::host
