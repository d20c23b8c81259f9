// A normalized event built straight into the bytes the host logs (ABI 1.2):
// the plugin serialises each event once and the host only appends its
// envelope. The builder keeps the promises the host relies on:
//  - the envelope keys (ts, seq, run_id, run_label, runtime_id) never appear:
//    they are the host's, whatever a backend put in its message;
//  - a key appears once (the first value wins, like object::emplace);
//  - an empty session_id is left out;
//  - the text is valid UTF-8 and valid JSON on one line (json_text.hpp).
// It also records what the host reads on every event (type, session_id, chunk
// text, whether there is a usage object), so the host never parses the bytes
// of the common events. One builder is reused event after event: after the
// first few events it allocates nothing.
#pragma once

#include <avenor/sdk/json_text.hpp>
#include <boost/json.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::sdk {

class EventText {
 public:
  // The envelope keys the host owns (events.md, "The envelope").
  static bool is_envelope_key(std::string_view key) {
    return key == "ts" || key == "seq" || key == "run_id" || key == "run_label" ||
           key == "runtime_id";
  }

  // Starts an event whose first member is "event": `type`.
  void begin(std::string_view type) {
    open();
    add("event", type);
  }

  // begin(type), add("session_id", session_id), add(key, value) in one go,
  // without add()'s checks: the start of every ACP update event. `key` must
  // be neither "event", "session_id" nor an envelope key.
  void begin(std::string_view type, std::string_view session_id, std::string_view key,
             std::string_view value) {
    // A stream repeats the same start event after event: when the last
    // begin() had these arguments, the bytes already start with it.
    if (prefix_size_ != 0 && type == type_ && session_id == session_id_ && key == prefix_key_ &&
        value == prefix_value_) {
      json_.resize(prefix_size_);
      keys_.resize(key_spans_[prefix_keys_ - 1].first + key_spans_[prefix_keys_ - 1].second);
      key_spans_.resize(prefix_keys_);
      content_text_.clear();
      delta_.clear();
      has_usage_ = false;
      closed_ = false;
      return;
    }
    open();
    put_known("\"event\":", "event", type);
    type_.assign(type);
    if (!session_id.empty()) {
      put_known(",\"session_id\":", "session_id", session_id);
      session_id_.assign(session_id);
    }
    put_key(key);
    json_text::append_string(json_, value);
    prefix_key_.assign(key);
    prefix_value_.assign(value);
    prefix_size_ = json_.size();
    prefix_keys_ = key_spans_.size();
  }

  // Starts an empty object (the "event" member then comes through add()).
  void open() {
    prefix_size_ = 0;
    json_.assign(1, '{');
    keys_.clear();
    key_spans_.clear();
    type_.clear();
    session_id_.clear();
    content_text_.clear();
    delta_.clear();
    has_usage_ = false;
    closed_ = false;
  }

  // A member, unless its key is an envelope key, already present, or
  // session_id with an empty string. Returns whether it was added.
  bool add(std::string_view key, const boost::json::value& v) {
    if (const boost::json::string* s = v.if_string()) return add(key, std::string_view(*s));
    if (!admit(key)) return false;
    if (key == "usage" && v.is_object()) has_usage_ = true;
    if (key == "content") {
      if (const auto* content = v.if_object()) {
        if (const auto* t = content->if_contains("text"); t && t->is_string())
          content_text_.assign(t->get_string());
      }
    }
    put_key(key);
    json_text::append_value(json_, v);
    return true;
  }

  bool add(std::string_view key, std::string_view s) {
    if (key == "session_id" && s.empty()) return false;
    if (!admit(key)) return false;
    if (key == "event") type_.assign(s);
    if (key == "session_id") session_id_.assign(s);
    if (key == "delta") delta_.assign(s);
    put_key(key);
    json_text::append_string(json_, s);
    return true;
  }
  bool add(std::string_view key, const char* s) { return add(key, std::string_view(s)); }

  // Members serialised elsewhere: `members` is `"k":v,"k2":v2` (compact, no
  // leading comma) whose keys the caller has already checked against the
  // keys present, the envelope keys and each other. The hints are those
  // members' content.text, delta and whether one is a usage object.
  void add_serialized(std::string_view members, std::string_view content_text,
                      std::string_view delta, bool has_usage) {
    if (members.empty()) return;
    if (json_.size() > 1) json_ += ',';
    json_.append(members);
    content_text_.assign(content_text);
    delta_.assign(delta);
    has_usage_ = has_usage_ || has_usage;
  }

  // Every member of `o`, in order, except `skip` (and what add() refuses).
  void add_all(const boost::json::object& o, std::string_view skip = {}) {
    for (const auto& member : o) {
      if (skip.empty() || member.key() != skip) add(member.key(), member.value());
    }
  }

  // The whole event from an object (keys in the object's order).
  void assign(const boost::json::object& event) {
    open();
    add_all(event);
    close();
  }

  void close() {
    if (!closed_) json_ += '}';
    closed_ = true;
  }

  // The serialised object; call close() first.
  std::string_view json() const { return json_; }
  std::string_view type() const { return type_; }
  std::string_view session_id() const { return session_id_; }
  // What the host takes as a chunk's text: content.text when non-empty, else delta.
  std::string_view text() const { return content_text_.empty() ? delta_ : content_text_; }
  bool has_usage() const { return has_usage_; }

 private:
  bool admit(std::string_view key) const {
    if (is_envelope_key(key)) return false;
    for (const auto& [at, size] : key_spans_)
      if (std::string_view(keys_).substr(at, size) == key) return false;
    return true;
  }

  // A member whose key text is known: `prefix` is its ,"key": already encoded.
  void put_known(std::string_view prefix, std::string_view key, std::string_view value) {
    key_spans_.emplace_back(keys_.size(), key.size());
    keys_.append(key);
    json_.append(prefix);
    json_text::append_string(json_, value);
  }

  void put_key(std::string_view key) {
    key_spans_.emplace_back(keys_.size(), key.size());
    keys_.append(key);
    if (json_.size() > 1) json_ += ',';
    json_text::append_string(json_, key);
    json_ += ':';
  }

  std::string json_;
  std::string keys_;                                            // the keys written, back to back
  std::vector<std::pair<std::size_t, std::size_t>> key_spans_;  // each key's place in keys_
  std::string type_, session_id_, content_text_, delta_;
  bool has_usage_ = false;
  bool closed_ = false;
  // What the last 4-argument begin() wrote, while json_ still starts with it.
  std::string prefix_key_, prefix_value_;
  std::size_t prefix_size_ = 0, prefix_keys_ = 0;
};

}  // namespace avenor::sdk
