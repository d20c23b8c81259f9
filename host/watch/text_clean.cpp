#include "watch/text_clean.hpp"

#include <cstdint>

namespace avenor::host::watch {
namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;

// Decodes one UTF-8 sequence at the start of `s` like Go's utf8.DecodeRune:
// overlong forms, surrogates and values above U+10FFFF are invalid. Returns
// kInvalid with length 1 for an invalid byte.
char32_t decode_rune(std::string_view s, std::size_t& length) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  length = 1;
  if (b0 < 0x80) return b0;
  auto cont = [&](std::size_t i) -> int {
    if (i >= s.size()) return -1;
    const auto b = static_cast<unsigned char>(s[i]);
    return (b & 0xC0) == 0x80 ? (b & 0x3F) : -1;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    const int c1 = cont(1);
    if (c1 < 0) return kInvalid;
    length = 2;
    return static_cast<char32_t>(((b0 & 0x1F) << 6) | c1);
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const int c1 = cont(1);
    const int c2 = cont(2);
    if (c1 < 0 || c2 < 0) return kInvalid;
    const auto r = static_cast<char32_t>(((b0 & 0x0F) << 12) | (c1 << 6) | c2);
    if (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF)) return kInvalid;
    length = 3;
    return r;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const int c1 = cont(1);
    const int c2 = cont(2);
    const int c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return kInvalid;
    const auto r = static_cast<char32_t>(((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3);
    if (r < 0x10000 || r > 0x10FFFF) return kInvalid;
    length = 4;
    return r;
  }
  return kInvalid;
}

// The rune that ends just before `end` (valid UTF-8 assumed, as everything
// trimmed here went through valid_utf8), and its length.
char32_t rune_before(std::string_view s, std::size_t end, std::size_t& length) {
  std::size_t start = end - 1;
  while (start > 0 && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80)
    --start;
  char32_t r = decode_rune(s.substr(start, end - start), length);
  if (r == kInvalid || start + length != end) {
    length = 1;
    return kInvalid;
  }
  return r;
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  std::size_t i = 0;
  // Fast path: most text is valid and is returned as is.
  while (i < text.size()) {
    std::size_t n = 0;
    if (decode_rune(text.substr(i), n) == kInvalid) break;
    i += n;
  }
  if (i == text.size()) return std::string(text);
  std::string out(text.substr(0, i));
  while (i < text.size()) {
    std::size_t n = 0;
    if (decode_rune(text.substr(i), n) == kInvalid) {
      out += "\xEF\xBF\xBD";
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

bool is_unicode_space(char32_t r) {
  switch (r) {
    case U'\t':
    case U'\n':
    case U'\v':
    case U'\f':
    case U'\r':
    case U' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

std::string collapse_line_breaks(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_run = false;
  for (char c : text) {
    if (c == '\r' || c == '\n' || c == '\t') {
      if (!in_run) out += ' ';
      in_run = true;
    } else {
      out += c;
      in_run = false;
    }
  }
  return out;
}

std::string_view cut_runes(std::string_view text, std::size_t max_runes) {
  std::size_t i = 0;
  for (std::size_t runes = 0; runes < max_runes && i < text.size(); ++runes) {
    std::size_t n = 0;
    decode_rune(text.substr(i), n);
    i += n;
  }
  return text.substr(0, i);
}

std::string_view trim_right_space(std::string_view text) {
  std::size_t end = text.size();
  while (end > 0) {
    std::size_t n = 0;
    const char32_t r = rune_before(text, end, n);
    if (r == kInvalid || !is_unicode_space(r)) break;
    end -= n;
  }
  return text.substr(0, end);
}

std::string_view trim_space(std::string_view text) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t n = 0;
    const char32_t r = decode_rune(text.substr(start), n);
    if (r == kInvalid || !is_unicode_space(r)) break;
    start += n;
  }
  return trim_right_space(text.substr(start));
}

std::string terminal_safe(std::string_view text) {
  auto harmless = [](unsigned char c) { return c >= 0x20 && c < 0x7F; };
  std::size_t i = 0;
  // Fast path: plain ASCII text is returned as is.
  while (i < text.size() && harmless(static_cast<unsigned char>(text[i]))) ++i;
  if (i == text.size()) return std::string(text);
  std::string out(text.substr(0, i));
  while (i < text.size()) {
    std::size_t n = 0;
    const char32_t r = decode_rune(text.substr(i), n);
    if (r == U'\t') {
      out += ' ';
    } else if (r < 0x20 || r == 0x7F) {
      // U+2400 + c is the control picture of c; DEL's is U+2421.
      const char32_t picture = r == 0x7F ? 0x2421 : 0x2400 + r;
      out += static_cast<char>(0xE0 | (picture >> 12));
      out += static_cast<char>(0x80 | ((picture >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (picture & 0x3F));
    } else if (r == kInvalid || (r >= 0x80 && r <= 0x9F)) {
      out += "\xEF\xBF\xBD";
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string clean_excerpt(std::string_view text) {
  const std::string collapsed = collapse_line_breaks(text);
  return std::string(trim_right_space(cut_runes(collapsed, kExcerptRunes)));
}

std::string clean_accumulated(std::string_view text) {
  const std::string collapsed = collapse_line_breaks(text);
  return std::string(trim_space(collapsed));
}

}  // namespace avenor::host::watch
