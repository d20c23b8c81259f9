// The HTTP debug adapter's access token (control.md §9): 16 random bytes as
// 32 lowercase hex characters, compared in constant time.
#pragma once

#include <string>
#include <string_view>

namespace avenor::host {

// Fresh token from the kernel's CSPRNG; throws std::system_error if it
// cannot be read (never falls back to a weaker source).
std::string make_debug_token();

// Constant-time in the contents; the length is not secret (every token has
// the same length), so a length mismatch returns early.
bool debug_token_equals(std::string_view expected, std::string_view given);

}  // namespace avenor::host
