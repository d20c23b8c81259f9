// Drives one plugin Backend instance from a fuzz input, as the host would: a
// recording avenor_host_api (no I/O, no clock) plus a tiny script language, so
// seeds read like the protocol transcripts in tests/unit/<plugin>/.
//
// One command per line:
//   @start [resume-id]        start_session
//   @prompt [session] [text]  prompt (session: the last one a start completed with)
//   @cancel [session]         cancel
//   @answer [option] [cancel] answer the newest permission.request event (first option
//                             when none is named; "cancel" answers it as cancelled)
//   @timers                   fire every armed timer
//   @close                    on_closed
// Any other line goes to on_bytes with its "\n", after replacing $ID with the
// JSON id of the newest request the backend wrote and $PREV with the one before,
// so a response can name a request whose id the backend chose.
#pragma once

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/backend.hpp>
#include <avenor/sdk/host.hpp>
#include <avenor/sdk/json.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_text.hpp"
#include "util/utf8.hpp"

namespace avenor::fuzz {

class RecordingHost {
 public:
  RecordingHost() {
    api_.struct_size = sizeof(api_);
    api_.ctx = this;
    api_.emit_event = [](void* ctx, avenor_str e) { self(ctx).on_emit(sdk::from_abi(e)); };
    api_.write = [](void* ctx, avenor_str b) { self(ctx).on_write(sdk::from_abi(b)); };
    api_.complete = [](void* ctx, std::uint64_t, avenor_str r) {
      self(ctx).on_complete(sdk::from_abi(r));
    };
    api_.fail = [](void*, std::uint64_t, std::int32_t, avenor_str) {};
    api_.set_timer = [](void* ctx, std::uint64_t id, std::uint64_t) {
      self(ctx).timers_.insert(id);
    };
    api_.cancel_timer = [](void* ctx, std::uint64_t id) { self(ctx).timers_.erase(id); };
    api_.log = [](void*, std::int32_t, avenor_str) {};
    api_.fatal = [](void*, avenor_str) {};
    // Service calls are accepted and never answered: the backend must cope.
    api_.call = [](void*, std::uint64_t, avenor_str, avenor_str) {};
    api_.cancel_call = [](void*, std::uint64_t) {};
  }
  RecordingHost(const RecordingHost&) = delete;
  RecordingHost& operator=(const RecordingHost&) = delete;

  sdk::Host host() const { return sdk::Host(&api_); }
  sdk::Operation op() { return sdk::Operation(host(), next_op_++); }

  std::vector<std::uint64_t> take_timers() {
    std::vector<std::uint64_t> ids(timers_.begin(), timers_.end());
    timers_.clear();
    return ids;
  }
  const std::string& session() const { return session_; }
  const std::optional<boost::json::object>& last_permission() const { return permission_; }
  // `$ID` and `$PREV` in `line` replaced by the ids of the newest requests.
  std::string substitute(std::string_view line) const {
    std::string out;
    for (std::size_t i = 0; i < line.size();) {
      if (line.substr(i, 3) == "$ID") {
        out += ids_.empty() ? std::string("0") : ids_.back();
        i += 3;
      } else if (line.substr(i, 5) == "$PREV") {
        out += ids_.size() < 2 ? std::string("0") : ids_[ids_.size() - 2];
        i += 5;
      } else {
        out.push_back(line[i++]);
      }
    }
    return out;
  }

 private:
  static RecordingHost& self(void* ctx) { return *static_cast<RecordingHost*>(ctx); }

  // Every event a plugin emits must be one JSON object naming its event.
  void on_emit(std::string_view text) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    require(!ec && v.is_object(), "a plugin emitted an event that is not a JSON object");
    const boost::json::object& event = v.get_object();
    const auto* name = event.if_contains("event");
    require(name && name->is_string(), "a plugin emitted an event without a string \"event\"");
    if (name->get_string() == "permission.request") permission_ = event;
  }

  // The backend writes whole lines; remember the ids of the requests among them.
  void on_write(std::string_view bytes) {
    pending_.append(bytes);
    std::size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(std::string_view(pending_).substr(0, nl), ec);
      pending_.erase(0, nl + 1);
      const boost::json::object* o = ec ? nullptr : v.if_object();
      if (!o || !o->contains("id")) continue;
      if (!o->contains("method") && !o->contains("type")) continue;
      ids_.push_back(boost::json::serialize(o->at("id")));
      if (ids_.size() > 2) ids_.pop_front();
    }
    if (pending_.size() > (1u << 20)) pending_.clear();
  }

  void on_complete(std::string_view result) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(result, ec);
    require(!ec, "a plugin completed an operation with invalid JSON");
    if (const auto* o = v.if_object())
      if (const auto* s = o->if_contains("session_id"); s && s->is_string())
        session_ = std::string(s->get_string());
  }

  avenor_host_api api_{};
  std::uint64_t next_op_ = 1;
  std::set<std::uint64_t> timers_;  // armed, not yet fired or cancelled
  std::string pending_;
  std::deque<std::string> ids_;
  std::string session_;
  std::optional<boost::json::object> permission_;
};

namespace detail {

// The first word of `rest` (split at a space), and what follows it. The host
// hands a plugin its arguments as JSON, so they are valid UTF-8.
inline std::pair<std::string, std::string_view> word(std::string_view rest) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::size_t sp = rest.find(' ');
  std::string w = host::to_valid_utf8(rest.substr(0, sp));
  rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  return {std::move(w), rest};
}

inline std::string first_option(const boost::json::object& request) {
  const auto* options = request.if_contains("options");
  if (!options || !options->is_array() || options->get_array().empty()) return {};
  const auto* o = options->get_array().front().if_object();
  if (!o) return {};
  for (const char* key : {"optionId", "option_id", "id"})
    if (const auto* v = o->if_contains(key); v && v->is_string())
      return std::string(v->get_string());
  return {};
}

}  // namespace detail

// Runs the script in `input` against the backend `make(host)` returns.
template <typename Make>
void drive_backend(std::string_view input, Make make) {
  RecordingHost recorder;
  std::unique_ptr<sdk::Backend> backend = make(recorder.host());
  (void)backend->launch();
  auto session_or = [&](std::string s) { return s.empty() ? recorder.session() : s; };
  for (std::string_view line : split_lines(input)) {
    if (line.empty() || line.front() != '@') {
      backend->on_bytes(recorder.substitute(line) + "\n");
      continue;
    }
    auto [command, rest] = detail::word(line.substr(1));
    if (command == "start") {
      auto [resume, ignored] = detail::word(rest);
      backend->start_session(recorder.op(),
                             resume.empty() ? std::nullopt : std::optional<std::string>(resume));
    } else if (command == "prompt") {
      auto [session, text] = detail::word(rest);
      backend->prompt(recorder.op(), session_or(session), host::to_valid_utf8(text));
    } else if (command == "cancel") {
      auto [session, ignored] = detail::word(rest);
      backend->cancel(recorder.op(), session_or(session));
    } else if (command == "answer") {
      if (!recorder.last_permission()) continue;
      const boost::json::object& request = *recorder.last_permission();
      auto [option, more] = detail::word(rest);
      sdk::PermissionAnswer answer;
      answer.session_id = sdk::json::string_or(request, "session_id");
      answer.request_id = sdk::json::string_or(request, "request_id");
      answer.option_id = option.empty() ? detail::first_option(request) : option;
      answer.cancelled = more.substr(0, 6) == "cancel";
      answer.allow = !answer.cancelled;
      backend->answer_permission(recorder.op(), answer);
    } else if (command == "timers") {
      for (std::uint64_t id : recorder.take_timers()) backend->on_timer(id);
    } else if (command == "close") {
      backend->on_closed(host::to_valid_utf8(rest));
    }
  }
  backend->on_closed("fuzz input ended");
}

}  // namespace avenor::fuzz
