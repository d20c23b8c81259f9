#include "util/utf8.hpp"

#include <avenor/sdk/utf8.hpp>

namespace avenor::host {

// One implementation for host and plugins (sdk/utf8.hpp), so both replace
// exactly the same bytes.
bool is_valid_utf8(std::string_view text) { return sdk::utf8::is_valid(text); }

std::string to_valid_utf8(std::string_view text) { return sdk::utf8::to_valid(text); }

}  // namespace avenor::host
