// An event a backend plugin emitted, as the host carries it from the plugin
// to the log and the subscribers. A plugin of ABI 1.2 hands over the event
// serialised, plus the few fields the host reads on every event (type,
// session_id, chunk text, whether there is usage); the host then logs those
// bytes with its envelope spliced on and never parses them, unless something
// needs the object (a permission request, a session.end it completes, a
// subscriber). An ABI 1.1 plugin's event, or one that failed the host's
// checks, arrives parsed and takes the object path from the start.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::host {

class BackendEvent {
 public:
  // Copies a serialised event and its fields; `body` must have passed
  // is_trusted_event_body().
  static BackendEvent from_serialized(std::string_view body, std::string_view type,
                                      std::string_view session_id, std::string_view text,
                                      bool has_usage);
  // An event that is only an object (its fields are read from it).
  static BackendEvent from_object(boost::json::object event);

  std::string_view type() const { return part(type_at_, type_size_); }
  std::string_view session_id() const { return part(session_at_, session_size_); }
  // A chunk's text as the host reads it: content.text when non-empty, else delta.
  std::string_view text() const { return part(text_at_, text_size_); }
  bool has_usage() const { return has_usage_; }

  // Whether the serialised bytes are still the event (no object was made).
  bool serialized() const { return !object_ && body_size_ > 0; }
  std::string_view body() const { return part(0, body_size_); }

  // The event as an object, parsed from the bytes on first use; from then on
  // the object is the event (changes to it are what gets logged).
  boost::json::object& object();
  boost::json::object take_object() { return std::move(object()); }

 private:
  BackendEvent() = default;
  std::string_view part(std::uint32_t at, std::uint32_t size) const {
    return std::string_view(data_).substr(at, size);
  }

  std::string data_;  // body, type, session_id and text back to back: one allocation
  std::uint32_t body_size_ = 0;
  std::uint32_t type_at_ = 0, type_size_ = 0;
  std::uint32_t session_at_ = 0, session_size_ = 0;
  std::uint32_t text_at_ = 0, text_size_ = 0;
  bool has_usage_ = false;
  std::optional<boost::json::object> object_;
};

// The host's last line of defence before it logs a plugin's bytes as they
// are: a compact object ({...}) in valid UTF-8 with no control characters, so
// the log stays valid UTF-8 with one event per line. A body that fails is
// parsed and re-encoded instead. The envelope keys are not searched for (too
// costly per event): leaving them out is the plugin's promise, kept by the
// SDK, and the host appends its own last, so with any JSON reader (the last
// of duplicate keys wins) the envelope read is always the host's.
bool is_trusted_event_body(std::string_view body);

}  // namespace avenor::host
