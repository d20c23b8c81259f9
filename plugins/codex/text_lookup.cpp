#include "text_lookup.hpp"

#include <algorithm>
#include <array>
#include <avenor/sdk/json.hpp>
#include <cctype>

namespace avenor::codex {

namespace json = avenor::sdk::json;

namespace {

// Deep enough for any real payload; a pathological nesting just yields "".
constexpr int kMaxDepth = 16;

std::string text_at(const boost::json::value& value, int depth) {
  if (depth > kMaxDepth) return {};
  if (value.is_string()) return std::string(value.get_string());
  if (const auto* array = value.if_array()) {
    std::string joined;
    for (const auto& element : *array) joined += text_at(element, depth + 1);
    return joined;
  }
  if (const auto* object = value.if_object()) {
    static constexpr std::array<std::string_view, 6> kKeys = {"text",    "delta",     "content",
                                                              "message", "arguments", "output"};
    for (std::string_view key : kKeys) {
      if (const auto* field = json::find(*object, key)) {
        std::string text = text_at(*field, depth + 1);
        if (!text.empty()) return text;
      }
    }
  }
  return {};
}

}  // namespace

bool contains_ignoring_case(std::string_view haystack, std::string_view needle) {
  auto equal = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), equal) !=
         haystack.end();
}

ItemKind classify_item(std::string_view kind) {
  if (kind.size() == 11 && contains_ignoring_case(kind, "usermessage")) return ItemKind::user;
  if (contains_ignoring_case(kind, "reason")) return ItemKind::reasoning;
  if (contains_ignoring_case(kind, "tool") || contains_ignoring_case(kind, "function"))
    return ItemKind::tool;
  if (contains_ignoring_case(kind, "assistant") || contains_ignoring_case(kind, "message"))
    return ItemKind::assistant;
  return ItemKind::unknown;
}

std::string text_of(const boost::json::value& value) { return text_at(value, 0); }

std::string notification_text(const boost::json::object& params) {
  const boost::json::object* item = json::find_object(params, "item");
  auto from = [&](const boost::json::object* o, std::string_view key) -> std::string {
    const boost::json::value* v = o ? json::find(*o, key) : nullptr;
    return v ? text_of(*v) : std::string();
  };
  for (auto [object, key] :
       {std::pair{item, "delta"}, std::pair{&params, "delta"}, std::pair{item, "content"},
        std::pair{item, "text"}, std::pair{&params, "text"}, std::pair{&params, "content"}}) {
    std::string text = from(object, key);
    if (!text.empty()) return text;
  }
  return {};
}

}  // namespace avenor::codex
