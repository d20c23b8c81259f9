// JSON helpers shared by plugins and the host: small accessors over Boost.JSON
// so protocol code reads as field lookups, not pointer checks.
#pragma once

#include <algorithm>
#include <avenor/sdk/json_repair.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace avenor::sdk::json {

namespace bj = boost::json;

// Parses JSON texts one after another, reusing the parser's memory (the hot
// path of a frame stream). Lenient (json_repair.hpp): a text the strict parser
// refuses is repaired and parsed again, so a lone surrogate or a stray bad
// byte costs one character, not the message. Values use the default memory
// resource and may be kept.
class Parser {
 public:
  // The value, or null with `ec` set when the text is not JSON even repaired.
  bj::value parse(std::string_view text, boost::system::error_code& ec) {
    ec = {};
    parser_.reset();
    parser_.write(text.data(), text.size(), ec);
    if (!ec) return parser_.release();
    const boost::system::error_code strict = ec;
    if (auto repaired = repair(text)) {
      ec = {};
      parser_.reset();
      parser_.write(repaired->data(), repaired->size(), ec);
      if (!ec) return parser_.release();
    }
    ec = strict;  // the original text's error names what was wrong with it
    parser_.reset();
    return nullptr;
  }

 private:
  bj::parser parser_;
};

// One text, leniently (see Parser); `ec` set when it is not JSON.
inline bj::value parse(std::string_view text, boost::system::error_code& ec) {
  return Parser().parse(text, ec);
}

// One text, leniently; throws std::runtime_error with the parser's message.
inline bj::value parse(std::string_view text) {
  boost::system::error_code ec;
  bj::value v = parse(text, ec);
  if (ec) throw std::runtime_error("invalid JSON: " + ec.message());
  return v;
}

inline std::string dump(const bj::value& v) { return bj::serialize(v); }

inline const bj::object* as_object(const bj::value* v) { return v ? v->if_object() : nullptr; }

inline const bj::value* find(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

inline const bj::object* find_object(const bj::object& o, std::string_view key) {
  const bj::value* v = find(o, key);
  return v ? v->if_object() : nullptr;
}

inline const bj::array* find_array(const bj::object& o, std::string_view key) {
  const bj::value* v = find(o, key);
  return v ? v->if_array() : nullptr;
}

// The string at `key`, or nullopt when missing or not a string.
inline std::optional<std::string> find_string(const bj::object& o, std::string_view key) {
  const bj::value* v = find(o, key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

// The string at `key`, or `fallback`.
inline std::string string_or(const bj::object& o, std::string_view key,
                             std::string_view fallback = {}) {
  auto s = find_string(o, key);
  return s ? *s : std::string(fallback);
}

inline bool bool_or(const bj::object& o, std::string_view key, bool fallback = false) {
  const bj::value* v = find(o, key);
  return v && v->is_bool() ? v->get_bool() : fallback;
}

// An integer at `key` given as a JSON integer or a double (truncated). Values
// beyond int64 clamp: a backend's 1e400 or 2^64 must not become UB here.
inline std::optional<std::int64_t> find_int(const bj::object& o, std::string_view key) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  const bj::value* v = find(o, key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64())
    return static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), kMax));
  if (v->is_double()) {
    const double d = v->get_double();
    if (std::isnan(d)) return std::nullopt;
    if (d >= 9.2e18) return kMax;
    if (d <= -9.2e18) return kMin;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

}  // namespace avenor::sdk::json
