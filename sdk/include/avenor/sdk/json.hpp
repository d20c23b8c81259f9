// JSON helpers shared by plugins and the host: small accessors over Boost.JSON
// so protocol code reads as field lookups, not pointer checks.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::sdk::json {

namespace bj = boost::json;

// Parses one JSON text; throws std::runtime_error with the parser's message.
inline bj::value parse(std::string_view text) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
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

// An integer at `key` given as a JSON integer or an integral double.
inline std::optional<std::int64_t> find_int(const bj::object& o, std::string_view key) {
  const bj::value* v = find(o, key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return std::nullopt;
}

}  // namespace avenor::sdk::json
