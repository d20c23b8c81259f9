// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF), shared
// by the host and every plugin so both sides agree on what "valid text" is and
// replace the same bytes with U+FFFD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace avenor::sdk::utf8 {

// U+FFFD REPLACEMENT CHARACTER, encoded.
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid sequence at `p` (before `end`), or 0 if none starts there.
inline std::size_t sequence_length(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = *p;
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) < len) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (std::size_t i = 2; i < len; ++i)
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  return len;
}

// Bytes from `p` up to the first one that is not plain ASCII, eight at a time:
// the common case of event text, so validation costs little there.
inline const unsigned char* skip_ascii(const unsigned char* p, const unsigned char* end) {
  while (end - p >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    if (word & 0x8080808080808080ull) break;
    p += 8;
  }
  while (p < end && *p < 0x80) ++p;
  return p;
}

inline bool is_valid(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  for (;;) {
    p = skip_ascii(p, end);
    if (p == end) return true;
    const std::size_t len = sequence_length(p, end);
    if (len == 0) return false;
    p += len;
  }
}

// Appends `text` to `out` with every byte that starts no valid sequence
// replaced by U+FFFD (one per byte, as the host always did).
inline void append_valid(std::string& out, std::string_view text) {
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* p = begin;
  const auto* end = p + text.size();
  const auto* run = p;  // start of bytes not yet appended
  for (;;) {
    p = skip_ascii(p, end);
    if (p == end) break;
    const std::size_t len = sequence_length(p, end);
    if (len != 0) {
      p += len;
      continue;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    out += kReplacement;
    run = ++p;
  }
  out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(end - run));
}

inline std::string to_valid(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_valid(out, text);
  return out;
}

}  // namespace avenor::sdk::utf8
