// Lenient decoding of what agents really send. Some text is valid JSON grammar
// that strict parsers refuse, or is JSON in all but a detail, and refusing it
// would fail a whole run over one character:
//  - a lone UTF-16 surrogate escape ("\ud800" without its pair, "\udc00"
//    alone): Node emits one when it cuts a string in the middle of an emoji;
//  - bytes that are not UTF-8 inside a string;
//  - the bare tokens NaN, Infinity and -Infinity (Python's json.dumps default).
// repair() rewrites exactly these: a lone surrogate becomes \ufffd, each bad
// byte U+FFFD, the tokens null. Everything else is left for the parser to judge.
#pragma once

#include <algorithm>
#include <avenor/sdk/utf8.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::sdk::json {

namespace repair_detail {

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of a "\uXXXX" escape at `at`, or -1.
inline long escape_unit(std::string_view s, std::size_t at) {
  if (at + 6 > s.size() || s[at] != '\\' || s[at + 1] != 'u') return -1;
  long unit = 0;
  for (std::size_t i = at + 2; i < at + 6; ++i) {
    const int d = hex_digit(s[i]);
    if (d < 0) return -1;
    unit = unit * 16 + d;
  }
  return unit;
}

inline bool is_high(long unit) { return unit >= 0xD800 && unit <= 0xDBFF; }
inline bool is_low(long unit) { return unit >= 0xDC00 && unit <= 0xDFFF; }

inline bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// A NaN/Infinity/-Infinity token starting at `at` (outside strings), as its length.
inline std::size_t non_finite_token(std::string_view s, std::size_t at) {
  for (std::string_view token : {"NaN", "Infinity", "-Infinity"}) {
    if (s.substr(at, token.size()) != token) continue;
    const std::size_t end = at + token.size();
    if (end < s.size() && word_char(s[end])) continue;
    if (at > 0 && word_char(s[at - 1])) continue;
    return token.size();
  }
  return 0;
}

}  // namespace repair_detail

// The repaired text, or nullopt when there was nothing to repair.
inline std::optional<std::string> repair(std::string_view s) {
  using namespace repair_detail;
  std::string out;
  bool changed = false;
  std::size_t copied = 0;  // s[0, copied) is already in `out` (or unchanged so far)
  auto replace = [&](std::size_t from, std::size_t to, std::string_view with) {
    if (!changed) out.reserve(s.size() + 16);
    changed = true;
    out.append(s.substr(copied, from - copied));
    out.append(with);
    copied = to;
  };
  bool in_string = false;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (!in_string) {
      if (c == '"') {
        in_string = true;
        ++i;
      } else if (const std::size_t n =
                     (c == 'N' || c == 'I' || c == '-') ? non_finite_token(s, i) : 0) {
        replace(i, i + n, "null");
        i += n;
      } else {
        ++i;
      }
      continue;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"') {
      in_string = false;
      ++i;
    } else if (c == '\\') {
      const long unit = escape_unit(s, i);
      if (unit < 0) {
        i += 2;  // a two-character escape (or a bad one, left for the parser)
      } else if (is_high(unit) && is_low(escape_unit(s, i + 6))) {
        i += 12;  // a proper pair
      } else if (is_high(unit) || is_low(unit)) {
        replace(i, i + 6, "\\ufffd");
        i += 6;
      } else {
        i += 6;
      }
    } else if (byte >= 0x80) {
      const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
      const std::size_t len =
          utf8::sequence_length(p, reinterpret_cast<const unsigned char*>(s.data()) + s.size());
      if (len == 0) {
        replace(i, i + 1, utf8::kReplacement);
        ++i;
      } else {
        i += len;
      }
    } else {
      ++i;
    }
  }
  if (!changed) return std::nullopt;
  out.append(s.substr(std::min(copied, s.size())));
  return out;
}

}  // namespace avenor::sdk::json
