#include "mcp/tool_args.hpp"

#include <boost/json.hpp>
#include <cmath>

#include "util/duration.hpp"

namespace avenor::host::mcp {

namespace bj = boost::json;

ToolArgs::ToolArgs(const bj::object& args, std::initializer_list<std::string_view> known)
    : args_(args) {
  for (const auto& kv : args) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || k == kv.key();
    if (!ok) throw ToolError("unknown parameter \"" + std::string(kv.key()) + "\"");
  }
}

const bj::value* ToolArgs::find(std::string_view key) const {
  const bj::value* v = args_.if_contains(key);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

bool ToolArgs::has(std::string_view key) const { return find(key) != nullptr; }

void ToolArgs::wrong_type(std::string_view key, std::string_view type) {
  throw ToolError("parameter \"" + std::string(key) + "\" must be " + std::string(type));
}

std::optional<std::string> ToolArgs::string(std::string_view key) const {
  const bj::value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) wrong_type(key, "a string");
  return std::string(v->get_string());
}

std::optional<bool> ToolArgs::boolean(std::string_view key) const {
  const bj::value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) wrong_type(key, "a boolean");
  return v->get_bool();
}

std::optional<std::int64_t> ToolArgs::integer(std::string_view key) const {
  const bj::value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  // JSON has one number type: 5.0 is the integer 5.
  if (v->is_double()) {
    const double d = v->get_double();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e15)
      return static_cast<std::int64_t>(d);
  }
  wrong_type(key, "an integer");
}

std::optional<std::vector<std::string>> ToolArgs::strings(std::string_view key) const {
  const bj::value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) wrong_type(key, "an array of strings");
  std::vector<std::string> out;
  for (const auto& item : v->get_array()) {
    if (!item.is_string()) wrong_type(key, "an array of strings");
    out.emplace_back(item.get_string());
  }
  return out;
}

std::string ToolArgs::required(std::string_view key) const {
  std::optional<std::string> s = string(key);
  if (!s || s->empty()) throw ToolError(std::string(key) + " is required");
  return *s;
}

std::optional<std::chrono::seconds> ToolArgs::duration(std::string_view key) const {
  constexpr std::int64_t kMaxSeconds = 100LL * 365 * 24 * 3600;  // the same cap, number or text
  const bj::value* v = find(key);
  if (v == nullptr) return std::nullopt;
  const std::string bad = std::string(key) + " must be a positive duration like 90s, 10m or 2h";
  std::chrono::nanoseconds d{0};
  if (v->is_string()) {
    std::string text(v->get_string());
    // A bare number is seconds, as the reference tool reads it.
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) text += "s";
    const auto parsed = parse_go_duration(text);
    if (!parsed) throw ToolError(bad);
    d = *parsed;
  } else if (v->is_number()) {
    std::optional<std::int64_t> n;
    try {
      n = integer(key);
    } catch (const ToolError&) {
      throw ToolError(bad);
    }
    if (*n <= 0 || *n > kMaxSeconds) throw ToolError(bad);
    return std::chrono::seconds(*n);
  } else {
    throw ToolError(bad);
  }
  // Sent to the supervisor as whole seconds: a positive value below one
  // second becomes one second rather than "no limit".
  const auto secs = std::chrono::ceil<std::chrono::seconds>(d);
  if (secs.count() <= 0 || secs.count() > kMaxSeconds) throw ToolError(bad);
  return secs;
}

}  // namespace avenor::host::mcp
