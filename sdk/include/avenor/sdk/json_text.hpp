// JSON text output shared by the host and the plugins, matching Go's
// encoding/json so files and logs look the same as the Go implementation's:
// numbers in Go's shortest form (1.5, 1e-7, 1e+21; integral values without a
// decimal point) rather than Boost's "1.5E0", MarshalIndent's layout for pretty
// output. The output is always valid JSON in valid UTF-8, whatever the value
// holds: invalid UTF-8 becomes U+FFFD and a non-finite number (a parsed 1e400)
// becomes null, as JavaScript's JSON.stringify does.
#pragma once

#include <array>
#include <avenor/sdk/utf8.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace avenor::sdk::json_text {

namespace detail {

// Bytes a JSON string cannot hold as they are: control characters, the quote,
// the backslash, and every non-ASCII byte (checked as UTF-8 before it passes).
inline constexpr std::array<bool, 256> kSpecial = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
  t['"'] = t['\\'] = true;
  for (int c = 0x80; c < 0x100; ++c) t[static_cast<std::size_t>(c)] = true;
  return t;
}();

inline void append_newline(std::string& out, int depth) {
  out += '\n';
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

}  // namespace detail

template <typename Int>
void append_int(std::string& out, Int v) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), end);
}

// Go's float encoding: shortest round-trip digits, fixed notation for
// 1e-6 <= |v| < 1e21, otherwise exponent form with "e-07" cleaned to "e-7".
inline void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";  // JSON has no Inf/NaN; Boost.JSON parses 1e400 as Inf
    return;
  }
  std::array<char, 64> buf{};
  const double abs = std::fabs(v);
  const bool exponent = abs != 0 && (abs < 1e-6 || abs >= 1e21);
  auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), v,
                    exponent ? std::chars_format::scientific : std::chars_format::fixed);
  std::size_t n = static_cast<std::size_t>(end - buf.data());
  if (exponent && n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
    buf[n - 2] = buf[n - 1];
    --n;
  }
  out.append(buf.data(), n);
}

// The JSON escaping of `s`, without quotes. With ValidUtf8 the bytes are
// known to be valid UTF-8 already (a parser checked them) and pass unchecked,
// which also lets a string arrive in pieces split anywhere.
template <bool ValidUtf8 = false>
void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  const auto* run = p;  // start of the bytes not yet appended
  auto flush = [&](const unsigned char* upto) {
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(upto - run));
  };
  while (p < end) {
    const unsigned char c = *p;
    if (!detail::kSpecial[c]) {
      ++p;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t len = ValidUtf8 ? 1 : utf8::sequence_length(p, end);
      if (len != 0) {
        p += len;
        continue;
      }
      flush(p);
      out += utf8::kReplacement;
      run = ++p;
      continue;
    }
    flush(p);
    run = ++p;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(u, sizeof u);
      }
    }
  }
  flush(end);
}

// A quoted, escaped JSON string (the hot path of every event line); invalid
// UTF-8 becomes U+FFFD.
inline void append_string(std::string& out, std::string_view s) {
  out += '"';
  append_escaped(out, s);
  out += '"';
}

inline void append_value(std::string& out, const boost::json::value& v, bool pretty = false,
                         int depth = 0);

// `pretty` false: compact. `depth` is the current indent level.
inline void append_object(std::string& out, const boost::json::object& o, bool pretty = false,
                          int depth = 0) {
  out += '{';
  bool first = true;
  for (const auto& member : o) {
    if (!first) out += ',';
    first = false;
    if (pretty) detail::append_newline(out, depth + 1);
    append_string(out, member.key());
    out += pretty ? ": " : ":";
    append_value(out, member.value(), pretty, depth + 1);
  }
  if (pretty && !o.empty()) detail::append_newline(out, depth);
  out += '}';
}

inline void append_array(std::string& out, const boost::json::array& a, bool pretty, int depth) {
  out += '[';
  bool first = true;
  for (const boost::json::value& item : a) {
    if (!first) out += ',';
    first = false;
    if (pretty) detail::append_newline(out, depth + 1);
    append_value(out, item, pretty, depth + 1);
  }
  if (pretty && !a.empty()) detail::append_newline(out, depth);
  out += ']';
}

inline void append_value(std::string& out, const boost::json::value& v, bool pretty, int depth) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      return;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case boost::json::kind::int64:
      append_int(out, v.get_int64());
      return;
    case boost::json::kind::uint64:
      append_int(out, v.get_uint64());
      return;
    case boost::json::kind::double_:
      append_double(out, v.get_double());
      return;
    case boost::json::kind::string:
      append_string(out, v.get_string());
      return;
    case boost::json::kind::array:
      append_array(out, v.get_array(), pretty, depth);
      return;
    case boost::json::kind::object:
      append_object(out, v.get_object(), pretty, depth);
      return;
  }
}

// Compact JSON, no whitespace. Object keys keep their insertion order.
inline std::string compact(const boost::json::value& v) {
  std::string out;
  append_value(out, v);
  return out;
}

}  // namespace avenor::sdk::json_text
