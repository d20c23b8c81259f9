// The fastest path of an ACP turn: a session/update frame in the shape agents
// actually send (JSON.stringify output: compact, members in the order
// jsonrpc, method, params{sessionId, update}) read by a hand-written scanner
// that validates the update and copies its members' bytes as they are.
//
// Copying is only correct when the bytes already are what re-encoding would
// make (json_text.hpp: Go's escaping, shortest numbers, valid UTF-8), so the
// scanner accepts only canonical text and gives up on anything else: white
// space, a \u or \/ escape, a number with a fraction, an exponent, "-0" or
// more than 18 digits, a key with an escape, invalid UTF-8, a duplicate
// update key, deep nesting, any other order or member. UpdateScanner then
// takes the frame through the full streaming parser, so a give-up costs time,
// never correctness.
#pragma once

#include <array>
#include <avenor/sdk/event_text.hpp>
#include <avenor/sdk/utf8.hpp>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace avenor::sdk::acp {

class CompactUpdateReader {
 public:
  // true: `frame` is a session/update in the common shape, and the accessors
  // below describe it (views into `frame` or into this reader, valid until
  // the next read). false: the frame needs the full parser (which may still
  // accept it).
  bool read(std::string_view frame) {
    p_ = frame.data();
    end_ = p_ + frame.size();
    members_.clear();
    content_text_ = delta_ = kind_ = {};
    has_usage_ = false;
    key_count_ = 0;
    if (!literal(kHead)) return false;
    const char* const sid = p_;
    bool escaped = false;
    if (!string_body(escaped) || escaped) return false;
    session_id_ = std::string_view(sid, static_cast<std::size_t>(p_ - sid - 1));
    if (!literal(kUpdate) || !update_members()) return false;
    return !kind_.empty() && literal("}}") && p_ == end_;
  }

  std::string_view session_id() const { return session_id_; }
  std::string_view kind() const { return kind_; }
  // The update's members without sessionUpdate and the keys an event may not
  // take from it: `"k":v,"k2":v2`, as EventText::add_serialized wants them.
  std::string_view members() const { return members_; }
  std::string_view content_text() const { return content_text_; }
  std::string_view delta() const { return delta_; }
  bool has_usage() const { return has_usage_; }

 private:
  static constexpr std::string_view kHead =
      R"({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":")";
  static constexpr std::string_view kUpdate = R"(,"update":{)";
  static constexpr int kMaxDepth = 16;  // nesting below the update; deeper: the parser decides
  static constexpr std::size_t kMaxKeys = 32;  // update members checked for duplicates

  bool literal(std::string_view text) {
    if (static_cast<std::size_t>(end_ - p_) < text.size() ||
        std::memcmp(p_, text.data(), text.size()) != 0)
      return false;
    p_ += text.size();
    return true;
  }

  bool next_is(char c) const { return p_ < end_ && *p_ == c; }

  // A mask whose lowest set bit marks the first byte of `w` (in memory
  // order) that is '"', '\\', below 0x20 or above 0x7f: the bytes a plain run
  // of string text stops at. Bits above the lowest may be false alarms (the
  // borrow of the SWAR tests), the lowest never is.
  static std::uint64_t special_bytes(std::uint64_t w) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ull;
    constexpr std::uint64_t kHigh = 0x8080808080808080ull;
    auto zero_byte = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
    return (w & kHigh) | ((w - kOnes * 0x20) & ~w & kHigh) | zero_byte(w ^ (kOnes * '"')) |
           zero_byte(w ^ (kOnes * '\\'));
  }

  // From after an opening quote to after the closing one. `escaped`: the
  // text holds one of the escapes re-encoding writes the same way.
  bool string_body(bool& escaped) {
    for (;;) {
      // Eight bytes at a time up to the next byte that needs a look.
      while (end_ - p_ >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p_, sizeof w);
        if (const std::uint64_t m = special_bytes(w); m != 0) {
          if constexpr (std::endian::native == std::endian::little) {
            p_ += std::countr_zero(m) / 8;
          }
          break;
        }
        p_ += 8;
      }
      if (p_ >= end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (end_ - p_ < 2) return false;
        switch (p_[1]) {
          case '"':
          case '\\':
          case 'n':
          case 'r':
          case 't':
          case 'b':
          case 'f':
            break;
          default:  // \/ and \u decode to text re-encoding writes differently
            return false;
        }
        escaped = true;
        p_ += 2;
      } else if (c < 0x20) {
        return false;  // not JSON
      } else if (c >= 0x80) {
        const std::size_t len = utf8::sequence_length(reinterpret_cast<const unsigned char*>(p_),
                                                      reinterpret_cast<const unsigned char*>(end_));
        if (len == 0) return false;
        p_ += len;
      } else {
        ++p_;
      }
    }
  }

  // A string value whose decoded text is wanted; `buffer` holds it when it
  // had escapes.
  bool captured_string(std::string_view& text, std::string& buffer) {
    ++p_;  // the opening quote
    const char* const start = p_;
    bool escaped = false;
    if (!string_body(escaped)) return false;
    const std::string_view raw(start, static_cast<std::size_t>(p_ - start - 1));
    if (!escaped) {
      text = raw;
      return true;
    }
    buffer.clear();
    for (std::size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '\\') {
        switch (raw[++i]) {
          case 'n':
            c = '\n';
            break;
          case 'r':
            c = '\r';
            break;
          case 't':
            c = '\t';
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          default:  // '"' or '\\'
            c = raw[i];
        }
      }
      buffer += c;
    }
    text = buffer;
    return true;
  }

  // A key without escapes (compared as it is), then its colon.
  bool key(std::string_view& name) {
    if (!next_is('"')) return false;
    ++p_;
    const char* const start = p_;
    bool escaped = false;
    if (!string_body(escaped) || escaped) return false;
    name = std::string_view(start, static_cast<std::size_t>(p_ - start - 1));
    return literal(":");
  }

  // An integer that parses to an int64 whose shortest text is itself.
  bool number() {
    const char* const start = p_;
    if (*p_ == '-') ++p_;
    const char* const digits = p_;
    if (p_ >= end_) return false;
    if (*p_ == '0') {
      if (digits != start) return false;  // -0
      ++p_;
    } else {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    const std::ptrdiff_t n = p_ - digits;
    if (n == 0 || n > 18) return false;
    return p_ < end_ && *p_ != '.' && *p_ != 'e' && *p_ != 'E' && !(*p_ >= '0' && *p_ <= '9');
  }

  bool value(int depth) {
    if (p_ >= end_) return false;
    switch (*p_) {
      case '"': {
        ++p_;
        bool escaped = false;
        return string_body(escaped);
      }
      case '{':
      case '[':
        return container(depth);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) && number();
    }
  }

  // An object or array: `content_text` set for update.content, whose direct
  // "text" string is the chunk text (the last one wins, as in the parser).
  bool container(int depth, bool content = false) {
    if (depth >= kMaxDepth) return false;
    const bool object = *p_ == '{';
    const char close = object ? '}' : ']';
    ++p_;
    if (next_is(close)) {
      ++p_;
      return true;
    }
    for (;;) {
      if (object) {
        std::string_view name;
        if (!key(name)) return false;
        if (content && name == "text" && next_is('"')) {
          if (!captured_string(content_text_, content_buffer_)) return false;
        } else if (!value(depth + 1)) {
          return false;
        }
      } else if (!value(depth + 1)) {
        return false;
      }
      if (next_is(',')) {
        ++p_;
        continue;
      }
      if (!next_is(close)) return false;
      ++p_;
      return true;
    }
  }

  // The members of the update object (its brace already read), through the
  // closing brace; the rules are UpdateScanner's update_key().
  bool update_members() {
    if (next_is('}')) return false;  // no sessionUpdate
    for (;;) {
      const char* const member = p_;
      std::string_view name;
      if (!key(name)) return false;
      for (std::size_t i = 0; i < key_count_; ++i)
        if (keys_[i] == name) return false;  // a duplicate: the parser decides
      if (key_count_ == kMaxKeys) return false;
      keys_[key_count_++] = name;
      if (name == "sessionUpdate") {
        if (!next_is('"')) return false;
        ++p_;
        const char* const start = p_;
        bool escaped = false;
        if (!string_body(escaped) || escaped) return false;
        kind_ = std::string_view(start, static_cast<std::size_t>(p_ - start - 1));
        if (kind_.empty()) return false;
      } else if (name == "event" || name == "session_id" || name == "session_update" ||
                 EventText::is_envelope_key(name)) {
        if (!value(0)) return false;  // validated, not copied
      } else {
        bool ok = false;
        if (name == "content" && next_is('{')) {
          ok = container(0, true);
        } else if (name == "delta" && next_is('"')) {
          ok = captured_string(delta_, delta_buffer_);
        } else {
          has_usage_ = has_usage_ || (name == "usage" && next_is('{'));
          ok = value(0);
        }
        if (!ok) return false;
        if (!members_.empty()) members_ += ',';
        members_.append(member, static_cast<std::size_t>(p_ - member));
      }
      if (next_is(',')) {
        ++p_;
        continue;
      }
      if (!next_is('}')) return false;
      ++p_;
      return true;
    }
  }

  const char* p_ = nullptr;
  const char* end_ = nullptr;
  std::string members_, content_buffer_, delta_buffer_;
  std::string_view session_id_, kind_, content_text_, delta_;
  bool has_usage_ = false;
  std::array<std::string_view, kMaxKeys> keys_{};
  std::size_t key_count_ = 0;
};

}  // namespace avenor::sdk::acp
