#include "util/json_text.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <string_view>

namespace avenor::host {
namespace {

namespace bj = boost::json;

template <typename Int>
void append_int(std::string& out, Int v) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), end);
}

// Go's float encoding: shortest round-trip digits, fixed notation for
// 1e-6 <= |v| < 1e21, otherwise exponent form with "e-07" cleaned to "e-7".
void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    // JSON has no NaN/Inf; Boost.JSON never parses them, so this only guards
    // values built in code.
    out += "null";
    return;
  }
  std::array<char, 64> buf{};
  const double abs = std::fabs(v);
  const bool exponent = abs != 0 && (abs < 1e-6 || abs >= 1e21);
  auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), v,
                    exponent ? std::chars_format::scientific : std::chars_format::fixed);
  std::string text(buf.data(), end);
  const std::size_t n = text.size();
  if (exponent && n >= 4 && text[n - 4] == 'e' && text[n - 3] == '-' && text[n - 2] == '0')
    text.erase(n - 2, 1);
  out += text;
}

// JSON string escaping straight into `out` (hot path of every event line).
void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the current run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
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
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_newline(std::string& out, int depth) {
  out += '\n';
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

void append_object(std::string& out, const bj::object& o, bool pretty, int depth);

// `pretty` false: compact. `depth` is the current indent level.
void append_value(std::string& out, const bj::value& v, bool pretty, int depth) {
  switch (v.kind()) {
    case bj::kind::null:
      out += "null";
      return;
    case bj::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case bj::kind::int64:
      append_int(out, v.get_int64());
      return;
    case bj::kind::uint64:
      append_int(out, v.get_uint64());
      return;
    case bj::kind::double_:
      append_double(out, v.get_double());
      return;
    case bj::kind::string:
      append_string(out, v.get_string());
      return;
    case bj::kind::array: {
      const bj::array& a = v.get_array();
      out += '[';
      bool first = true;
      for (const bj::value& item : a) {
        if (!first) out += ',';
        first = false;
        if (pretty) append_newline(out, depth + 1);
        append_value(out, item, pretty, depth + 1);
      }
      if (pretty && !a.empty()) append_newline(out, depth);
      out += ']';
      return;
    }
    case bj::kind::object:
      append_object(out, v.get_object(), pretty, depth);
      return;
  }
}

void append_object(std::string& out, const bj::object& o, bool pretty, int depth) {
  out += '{';
  bool first = true;
  for (const auto& member : o) {
    if (!first) out += ',';
    first = false;
    if (pretty) append_newline(out, depth + 1);
    append_string(out, member.key());
    out += pretty ? ": " : ":";
    append_value(out, member.value(), pretty, depth + 1);
  }
  if (pretty && !o.empty()) append_newline(out, depth);
  out += '}';
}

}  // namespace

std::string to_compact_json(const boost::json::value& v) {
  std::string out;
  append_value(out, v, false, 0);
  return out;
}

void append_compact_json(std::string& out, const boost::json::object& o) {
  append_object(out, o, false, 0);
}

std::string to_pretty_json(const boost::json::value& v) {
  std::string out;
  append_value(out, v, true, 0);
  return out;
}

}  // namespace avenor::host
