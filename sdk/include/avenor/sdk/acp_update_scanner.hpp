// The fast path of an ACP turn: a session/update notification turned into its
// event in one streaming pass (Boost.JSON's basic_parser, no DOM), the update's
// members re-encoded straight into the event's bytes. The result is byte for
// byte what the general path makes (JsonRpcPeer parses the frame into a value,
// AcpBackend::on_session_update copies the update into an EventText), only
// without building and freeing a tree per frame. (One exception: a key
// repeated inside a nested object of the update passes through twice, where
// the tree would keep its last value once.)
//
// Anything unusual is left to the general path: another message, a request,
// a kind avenor does not map, a duplicate key, a value of an unexpected type,
// and every frame the strict parser refuses (which the general path then
// decodes leniently or reports).
//
// Before the parser, CompactUpdateReader tries the shape agents send in
// practice (acp_compact_update.hpp) and copies the update's bytes unparsed.
#pragma once

#include <array>
#include <avenor/sdk/acp_compact_update.hpp>
#include <avenor/sdk/event_text.hpp>
#include <avenor/sdk/json_text.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::sdk::acp {

class UpdateScanner {
 public:
  // `map_kind` gives the event name of a sessionUpdate kind, or nullopt for
  // kinds avenor drops.
  using KindMap = std::optional<std::string_view> (*)(std::string_view kind);

  explicit UpdateScanner(KindMap map_kind)
      : parser_(boost::json::parse_options{}), map_(map_kind) {}

  // true: `frame` is a session/update of a mapped kind and `out` holds its
  // event (closed). false: the general path must take the frame.
  bool scan(std::string_view frame, EventText& out) {
    if (compact_.read(frame)) {  // the common shape, without a parser
      const std::optional<std::string_view> name = map_(compact_.kind());
      if (!name) return false;
      out.begin(*name, compact_.session_id(), "session_update", compact_.kind());
      out.add_serialized(compact_.members(), compact_.content_text(), compact_.delta(),
                         compact_.has_usage());
      out.close();
      return true;
    }
    return parse(frame, out);
  }

  // scan() without the compact reader: the full streaming parse.
  bool parse(std::string_view frame, EventText& out) {
    Handler& h = parser_.handler();
    h.reset();
    parser_.reset();
    boost::system::error_code ec;
    const std::size_t used = parser_.write_some(false, frame.data(), frame.size(), ec);
    if (ec || used != frame.size() || !h.complete()) return false;
    const std::optional<std::string_view> name = map_(h.kind);
    if (!name) return false;
    out.begin(*name, h.session_id, "session_update", h.kind);
    out.add_serialized(h.members, h.content_text, h.delta, h.has_usage);
    out.close();
    return true;
  }

 private:
  // What the value now starting means.
  enum class Role : std::uint8_t {
    root,
    jsonrpc,
    method,
    params,
    session_id,
    update,
    kind,
    copy,          // part of an update member: re-encoded into `members`
    copy_content,  // update.content: copied, and its "text" is the chunk text
    copy_text,     // update.content.text
    copy_delta,    // update.delta
    copy_usage,    // update.usage
    skip           // not needed: parsed (so validated) and dropped
  };
  // What an open object or array is.
  enum class Scope : std::uint8_t { root, params, update, copy, content, skip };

  struct Handler {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    static constexpr int kMaxDepth = 64;  // above the parser's own limit (32)

    std::string members, session_id, kind, content_text, delta;
    bool has_usage = false;

    void reset() {
      members.clear();
      session_id.clear();
      kind.clear();
      content_text.clear();
      delta.clear();
      capture_.clear();
      update_keys_.clear();
      has_usage = false;
      depth_ = 0;
      next_ = Role::root;
      in_key_ = in_string_ = false;
      seen_ = 0;
    }

    // The frame was a notification (no id) of session/update, JSON-RPC 2.0,
    // with an update object carrying a string sessionUpdate.
    bool complete() const {
      constexpr unsigned kNeeded = kJsonrpc | kMethod | kUpdate | kKind;
      return (seen_ & kNeeded) == kNeeded && (seen_ & kId) == 0;
    }

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }

    bool on_object_begin(boost::system::error_code& ec) { return open(false, ec); }
    bool on_object_end(std::size_t, boost::system::error_code&) { return close('}'); }
    bool on_array_begin(boost::system::error_code& ec) { return open(true, ec); }
    bool on_array_end(std::size_t, boost::system::error_code&) { return close(']'); }

    bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
      return key_part(s, false, ec);
    }
    bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
      return key_part(s, true, ec);
    }
    bool on_string_part(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
      return string_part(s, false, ec);
    }
    bool on_string(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
      return string_part(s, true, ec);
    }
    bool on_number_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t v, boost::json::string_view, boost::system::error_code& ec) {
      return scalar(ec, [&] { json_text::append_int(members, v); });
    }
    bool on_uint64(std::uint64_t v, boost::json::string_view, boost::system::error_code& ec) {
      return scalar(ec, [&] { json_text::append_int(members, v); });
    }
    bool on_double(double v, boost::json::string_view, boost::system::error_code& ec) {
      return scalar(ec, [&] { json_text::append_double(members, v); });
    }
    bool on_bool(bool v, boost::system::error_code& ec) {
      return scalar(ec, [&] { members += v ? "true" : "false"; });
    }
    bool on_null(boost::system::error_code& ec) {
      return scalar(ec, [&] { members += "null"; });
    }
    bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }

   private:
    enum Seen : unsigned {
      kJsonrpc = 1,
      kMethod = 2,
      kParams = 4,
      kId = 8,
      kSessionId = 16,
      kUpdate = 32,
      kKind = 64
    };

    static bool copying(Role r) {
      return r == Role::copy || r == Role::copy_content || r == Role::copy_text ||
             r == Role::copy_delta || r == Role::copy_usage;
    }

    // Stops the parse: the general path takes the frame.
    static bool refuse(boost::system::error_code& ec) {
      ec = boost::json::error::syntax;
      return false;
    }

    // The role of the value starting now (an array element's comes from its
    // array; an object member's was set by its key).
    Role begin_value() {
      if (depth_ == 0 || !is_array_[depth_ - 1]) return next_;
      if (scope_[depth_ - 1] != Scope::copy) return Role::skip;
      separate();
      return Role::copy;
    }

    // The comma before a member or an element of a copied container.
    void separate() {
      if (!first_[depth_ - 1]) members += ',';
      first_[depth_ - 1] = false;
    }

    bool open(bool array, boost::system::error_code& ec) {
      if (depth_ >= kMaxDepth) return refuse(ec);
      const Role role = begin_value();
      Scope scope = Scope::skip;
      switch (role) {
        case Role::root:
          if (array) return refuse(ec);  // a batch or garbage: not ours
          scope = Scope::root;
          break;
        case Role::params:
          if (array) return refuse(ec);
          scope = Scope::params;
          break;
        case Role::update:
          if (array) return refuse(ec);
          scope = Scope::update;
          break;
        case Role::copy_content:
          scope = array ? Scope::copy : Scope::content;
          break;
        case Role::copy_usage:
          has_usage = has_usage || !array;
          scope = Scope::copy;
          break;
        case Role::copy:
        case Role::copy_text:
        case Role::copy_delta:
          scope = Scope::copy;
          break;
        case Role::skip:
          break;
        default:  // jsonrpc, method, session_id or kind that is not a string
          return refuse(ec);
      }
      if (scope == Scope::copy || scope == Scope::content) members += array ? '[' : '{';
      scope_[depth_] = scope;
      is_array_[depth_] = array;
      first_[depth_] = true;
      ++depth_;
      return true;
    }

    bool close(char bracket) {
      --depth_;
      if (scope_[depth_] == Scope::copy || scope_[depth_] == Scope::content) members += bracket;
      return true;
    }

    bool key_part(boost::json::string_view part, bool last, boost::system::error_code& ec) {
      const Scope scope = scope_[depth_ - 1];
      if (scope == Scope::skip) {
        next_ = Role::skip;
        return true;
      }
      if (scope == Scope::copy || scope == Scope::content) {
        if (!in_key_) {
          separate();
          members += '"';
          capture_.clear();
        }
        json_text::append_escaped<true>(members, part);
        if (scope == Scope::content) capture_.append(part.data(), part.size());
        in_key_ = !last;
        if (last) {
          members += "\":";
          next_ = scope == Scope::content && is("text") ? Role::copy_text : Role::copy;
        }
        return true;
      }
      if (!in_key_) capture_.clear();
      capture_.append(part.data(), part.size());
      in_key_ = !last;
      if (!last) return true;
      if (scope == Scope::root) return root_key(ec);
      if (scope == Scope::params) return params_key(ec);
      return update_key(ec);
    }

    // The captured key or string is `text` (no strlen, length first).
    bool is(std::string_view text) const { return std::string_view(capture_) == text; }

    bool once(unsigned flag, boost::system::error_code& ec) {
      if (seen_ & flag) return refuse(ec);  // a duplicate: the general path decides
      seen_ |= flag;
      return true;
    }

    bool root_key(boost::system::error_code& ec) {
      next_ = Role::skip;
      if (is("id")) return refuse(ec);  // a request or a response
      if (is("jsonrpc")) {
        next_ = Role::jsonrpc;
        return once(kJsonrpc, ec);
      }
      if (is("method")) {
        next_ = Role::method;
        return once(kMethod, ec);
      }
      if (is("params")) {
        next_ = Role::params;
        return once(kParams, ec);
      }
      return true;
    }

    bool params_key(boost::system::error_code& ec) {
      next_ = Role::skip;
      if (is("sessionId")) {
        next_ = Role::session_id;
        return once(kSessionId, ec);
      }
      if (is("update")) {
        next_ = Role::update;
        return once(kUpdate, ec);
      }
      return true;
    }

    bool update_key(boost::system::error_code& ec) {
      const std::string_view key = capture_;
      if (key == "sessionUpdate") {
        next_ = Role::kind;
        return once(kKind, ec);
      }
      for (std::string_view seen : update_keys_)
        if (seen == key) return refuse(ec);
      update_keys_.emplace_back(key);
      // The event's own members come first and win, the envelope is the
      // host's: neither is copied (as EventText::add would refuse them).
      if (key == "event" || key == "session_id" || key == "session_update" ||
          EventText::is_envelope_key(key)) {
        next_ = Role::skip;
        return true;
      }
      separate();
      json_text::append_string(members, key);
      members += ':';
      next_ = key == "content" ? Role::copy_content
              : key == "delta" ? Role::copy_delta
              : key == "usage" ? Role::copy_usage
                               : Role::copy;
      return true;
    }

    bool string_part(boost::json::string_view part, bool last, boost::system::error_code& ec) {
      if (!in_string_) {
        role_ = begin_value();
        capture_.clear();
        if (copying(role_)) members += '"';
      }
      in_string_ = !last;
      switch (role_) {
        case Role::jsonrpc:
        case Role::method:
        case Role::session_id:
        case Role::kind:
          capture_.append(part.data(), part.size());
          break;
        case Role::copy_text:
        case Role::copy_delta:
          capture_.append(part.data(), part.size());
          [[fallthrough]];
        case Role::copy:
        case Role::copy_content:
        case Role::copy_usage:
          json_text::append_escaped<true>(members, part);
          break;
        case Role::skip:
          break;
        default:  // params or update as a string
          return refuse(ec);
      }
      if (!last) return true;
      if (copying(role_)) members += '"';
      switch (role_) {
        case Role::jsonrpc:
          return is("2.0") ? true : refuse(ec);
        case Role::method:
          return is("session/update") ? true : refuse(ec);  // others: early out
        case Role::session_id:
          session_id = capture_;
          break;
        case Role::kind:
          kind = capture_;
          break;
        case Role::copy_text:
          content_text = capture_;
          break;
        case Role::copy_delta:
          delta = capture_;
          break;
        default:
          break;
      }
      return true;
    }

    template <class Emit>
    bool scalar(boost::system::error_code& ec, Emit emit) {
      const Role role = begin_value();
      if (copying(role)) {
        emit();
        return true;
      }
      return role == Role::skip ? true : refuse(ec);
    }

    std::array<Scope, kMaxDepth> scope_{};
    std::array<bool, kMaxDepth> is_array_{};
    std::array<bool, kMaxDepth> first_{};
    int depth_ = 0;
    Role next_ = Role::root;  // the role of the value after the current key
    Role role_ = Role::skip;  // the role of the string being read
    bool in_key_ = false, in_string_ = false;
    unsigned seen_ = 0;
    std::string capture_;  // the key or string being read, when it is needed whole
    std::vector<std::string> update_keys_;
  };

  CompactUpdateReader compact_;
  boost::json::basic_parser<Handler> parser_;
  KindMap map_;
};

}  // namespace avenor::sdk::acp
