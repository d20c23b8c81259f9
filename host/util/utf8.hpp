// Strict UTF-8 validation (no overlongs, surrogates or code points above
// U+10FFFF), for client-supplied text such as permission write-in messages.
#pragma once

#include <string_view>

namespace avenor::host {

bool is_valid_utf8(std::string_view text);

}  // namespace avenor::host
