// How text and item kinds are found in codex payloads whose shape is not
// fixed (backends.md §3.4): the generic item/delta and item/updated
// notifications, and the joined text of a reasoning item.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

namespace avenor::codex {

// What an item is, for routing its text (item.kind or item.type).
enum class ItemKind { user, reasoning, tool, assistant, unknown };

// userMessage -> user; contains "reason" -> reasoning; contains "tool" or
// "function" -> tool; contains "assistant" or "message" -> assistant. Case is
// ignored: codex spells its types in camelCase ("mcpToolCall").
ItemKind classify_item(std::string_view kind);

// true when `haystack` contains `needle`, ignoring ASCII case.
bool contains_ignoring_case(std::string_view haystack, std::string_view needle);

// The text in a value: a string is itself; an array joins its elements' text;
// an object gives the first non-empty text of its keys text, delta, content,
// message, arguments, output (in that order).
std::string text_of(const boost::json::value& value);

// The text of an item/delta or item/updated notification: the first non-empty
// of item.delta, delta, item.content, item.text, text, content.
std::string notification_text(const boost::json::object& params);

}  // namespace avenor::codex
