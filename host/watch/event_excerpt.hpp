// Field access and the per-event excerpt of watch's plain format
// (events.md §8.3). Everything returned is valid UTF-8.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

namespace avenor::host::watch {

// The string at `key`; "" when missing or not a string.
std::string string_field(const boost::json::object& event, std::string_view key);

// `event` as a string; "" means "not an event" (no plain output).
std::string event_name(const boost::json::object& event);

// `session_id`, else `sessionID`.
std::string session_of(const boost::json::object& event);

// agent.message_chunk, agent.thought_chunk, user.message_chunk.
bool is_chunk_event(std::string_view name);

// A chunk's text: `content.text` when `content` is an object with a
// non-empty text, else `delta`.
std::string chunk_text(const boost::json::object& event);

// The excerpt of the table in §8.3, before cleaning.
std::string raw_excerpt(const boost::json::object& event, std::string_view name);

}  // namespace avenor::host::watch
