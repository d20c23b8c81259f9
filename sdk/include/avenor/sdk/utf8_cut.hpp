// Cutting text to a byte budget without splitting a UTF-8 sequence, so what
// goes into a message or an event stays valid text.
#pragma once

#include <avenor/sdk/utf8.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace avenor::sdk {

// The longest prefix of `text` of at most `max_bytes` that ends on a UTF-8
// sequence boundary.
inline std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

// Enough of a (bad) frame or line to recognize it in a log: up to `max_bytes`,
// with "..." when something was cut. Always valid UTF-8 (bad bytes become
// U+FFFD): a quoted frame ends up in an avenor.error of the event log.
inline std::string excerpt(std::string_view text, std::size_t max_bytes = 200) {
  if (text.size() <= max_bytes) return utf8::to_valid(text);
  return utf8::to_valid(utf8_prefix(text, max_bytes)) + "...";
}

}  // namespace avenor::sdk
