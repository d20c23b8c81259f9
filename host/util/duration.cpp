#include "util/duration.hpp"

#include <array>
#include <cstdint>

namespace avenor::host {
namespace {

constexpr std::uint64_t kMaxMagnitude = std::uint64_t{1} << 63;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::optional<std::uint64_t> unit_nanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60'000'000'000;
  if (unit == "h") return 3'600'000'000'000;
  return std::nullopt;
}

// Go's leadingInt: consumes [0-9]*, failing on overflow past 1<<63.
std::optional<std::uint64_t> leading_int(std::string_view& s) {
  std::uint64_t x = 0;
  std::size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (x > kMaxMagnitude / 10) return std::nullopt;
    x = x * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (x > kMaxMagnitude) return std::nullopt;
  }
  s.remove_prefix(i);
  return x;
}

// Go's leadingFraction: consumes [0-9]*; digits past int64 precision are
// skipped rather than rejected.
void leading_fraction(std::string_view& s, std::uint64_t& x, double& scale) {
  std::size_t i = 0;
  bool overflow = false;
  x = 0;
  scale = 1;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (overflow) continue;
    if (x > (kMaxMagnitude - 1) / 10) {
      overflow = true;
      continue;
    }
    std::uint64_t y = x * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (y > kMaxMagnitude) {
      overflow = true;
      continue;
    }
    x = y;
    scale *= 10;
  }
  s.remove_prefix(i);
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds{0};
  if (s.empty()) return std::nullopt;

  std::uint64_t total = 0;
  while (!s.empty()) {
    if (!(s.front() == '.' || is_digit(s.front()))) return std::nullopt;
    const std::size_t before_int = s.size();
    auto whole = leading_int(s);
    if (!whole) return std::nullopt;
    const bool had_int = before_int != s.size();

    std::uint64_t frac = 0;
    double scale = 1;
    bool had_frac = false;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      const std::size_t before_frac = s.size();
      leading_fraction(s, frac, scale);
      had_frac = before_frac != s.size();
    }
    if (!had_int && !had_frac) return std::nullopt;

    std::size_t unit_len = 0;
    while (unit_len < s.size() && s[unit_len] != '.' && !is_digit(s[unit_len])) ++unit_len;
    if (unit_len == 0) return std::nullopt;
    auto unit = unit_nanos(s.substr(0, unit_len));
    if (!unit) return std::nullopt;
    s.remove_prefix(unit_len);

    std::uint64_t v = *whole;
    if (v > kMaxMagnitude / *unit) return std::nullopt;
    v *= *unit;
    if (frac > 0) {
      // Go uses float64 here too; it is exact to the nanosecond for every
      // fraction of the largest unit (hours).
      v += static_cast<std::uint64_t>(static_cast<double>(frac) *
                                      (static_cast<double>(*unit) / scale));
      if (v > kMaxMagnitude) return std::nullopt;
    }
    total += v;
    if (total > kMaxMagnitude) return std::nullopt;
  }
  if (negative) {
    // -(1<<63) is representable; compute it without signed overflow.
    return std::chrono::nanoseconds{static_cast<std::int64_t>(0 - total)};
  }
  if (total > kMaxMagnitude - 1) return std::nullopt;
  return std::chrono::nanoseconds{static_cast<std::int64_t>(total)};
}

namespace {

// Writes v/10^prec's fraction (".12", trailing zeros and a bare "." omitted)
// right-aligned ending at `w`; returns the new start and v/10^prec.
std::size_t fmt_frac(std::array<char, 32>& buf, std::size_t w, std::uint64_t& v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const auto digit = static_cast<char>(v % 10);
    print = print || digit != 0;
    if (print) buf[--w] = static_cast<char>('0' + digit);
    v /= 10;
  }
  if (print) buf[--w] = '.';
  return w;
}

std::size_t fmt_int(std::array<char, 32>& buf, std::size_t w, std::uint64_t v) {
  if (v == 0) {
    buf[--w] = '0';
    return w;
  }
  for (; v > 0; v /= 10) buf[--w] = static_cast<char>('0' + v % 10);
  return w;
}

}  // namespace

std::string format_go_duration(std::chrono::nanoseconds d) {
  constexpr std::uint64_t kSecond = 1'000'000'000;
  std::array<char, 32> buf{};
  std::size_t w = buf.size();
  const bool negative = d.count() < 0;
  std::uint64_t u = static_cast<std::uint64_t>(d.count());
  if (negative) u = 0 - u;

  if (u < kSecond) {
    if (u == 0) return "0s";
    int prec = 0;
    buf[--w] = 's';
    if (u < 1'000) {
      buf[--w] = 'n';
    } else if (u < 1'000'000) {
      prec = 3;
      buf[--w] = '\xB5';  // U+00B5 'µ' is two bytes in UTF-8
      buf[--w] = '\xC2';
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    w = fmt_frac(buf, w, u, prec);
    w = fmt_int(buf, w, u);
  } else {
    buf[--w] = 's';
    w = fmt_frac(buf, w, u, 9);
    w = fmt_int(buf, w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      w = fmt_int(buf, w, u % 60);
      u /= 60;
      // Hours are the largest unit: days vary in length.
      if (u > 0) {
        buf[--w] = 'h';
        w = fmt_int(buf, w, u);
      }
    }
  }
  if (negative) buf[--w] = '-';
  return std::string(buf.data() + w, buf.size() - w);
}

}  // namespace avenor::host
