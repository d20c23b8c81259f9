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

// The cleaned excerpt of a permission.request (new): what is asked, then the
// offered options and the request id, which an agent needs to answer it:
//   Run git status [once=allow_once, reject=reject_once] (request perm-1)
// What is asked is the first non-empty of `question`, `toolCall.title`
// (ACP), `description`, `command` (codex), `message`, `title`, `tool`; it is
// cut to 80 runes, but the options and the request id are never cut.
std::string permission_excerpt(const boost::json::object& event);

}  // namespace avenor::host::watch
