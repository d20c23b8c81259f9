// A recording avenor_host_api for plugin unit tests: everything a plugin asks
// of the host is kept for assertions, and nothing is done. No test framework
// is needed; any one (GoogleTest, Catch2, plain asserts) reads the members.
//
// Two ways to use it (docs/plugin-guide.md, "Testing a plugin"):
//  - C++ layer: give `host()` to your Backend class and call it directly;
//  - C boundary: load the compiled plugin with testing::Plugin and drive it
//    through testing::Instance (plugin_driver.hpp), which uses this host.
//
// It can play an older host: FakeHost(0) is an ABI 1.0 host (no services),
// FakeHost(1) a 1.1 one (no serialised events); the default is this SDK's.
#pragma once

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/host.hpp>
#include <avenor/sdk/json.hpp>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::sdk::testing {

class Instance;

class FakeHost {
 public:
  struct Failure {
    std::int32_t kind;  // an avenor_failure
    std::string message;
  };

  // One emit_event_serialized call (ABI 1.2), as the plugin passed it.
  struct Serialized {
    std::string json, type, session_id, text;
    std::uint32_t flags = 0;
  };

  // One host service call (ABI 1.1), answered by the test (answer, ...).
  struct Call {
    std::uint64_t id = 0;
    std::string service;
    boost::json::object request;
    bool cancelled = false;  // the plugin called cancel_call
    bool ended = false;      // its result was delivered
  };

  // `abi_minor`: the host to play. Members a host of that minor lacks are
  // outside struct_size and null, so a plugin that does not check crashes here
  // rather than on a user's machine.
  explicit FakeHost(std::uint32_t abi_minor = AVENOR_ABI_MINOR)
      : abi_minor_(abi_minor), host_(&api_) {
    api_.ctx = this;
    api_.emit_event = [](void* ctx, avenor_str e) { self(ctx).on_emit(from_abi(e)); };
    api_.write = [](void* ctx, avenor_str b) { self(ctx).written_.append(from_abi(b)); };
    api_.complete = [](void* ctx, std::uint64_t op, avenor_str r) {
      auto& h = self(ctx);
      h.trace.push_back("complete:" + std::to_string(op));
      h.finished(op);
      h.completed[op] = h.parse_or_note(from_abi(r), "complete(" + std::to_string(op) + ")");
    };
    api_.fail = [](void* ctx, std::uint64_t op, std::int32_t kind, avenor_str m) {
      auto& h = self(ctx);
      h.trace.push_back("fail:" + std::to_string(op));
      h.finished(op);
      h.failed[op] = Failure{kind, std::string(from_abi(m))};
    };
    api_.set_timer = [](void* ctx, std::uint64_t id, std::uint64_t ms) {
      self(ctx).timers[id] = ms;
    };
    api_.cancel_timer = [](void* ctx, std::uint64_t id) { self(ctx).timers.erase(id); };
    api_.log = [](void* ctx, std::int32_t level, avenor_str m) {
      self(ctx).logs.emplace_back(level, std::string(from_abi(m)));
    };
    api_.fatal = [](void* ctx, avenor_str m) { self(ctx).fatals.emplace_back(from_abi(m)); };
    api_.struct_size = offsetof(avenor_host_api, call);
    if (abi_minor >= 1) {
      api_.call = [](void* ctx, std::uint64_t id, avenor_str service, avenor_str request) {
        auto& h = self(ctx);
        h.trace.push_back("call:" + std::string(from_abi(service)));
        boost::json::value v = h.parse_or_note(from_abi(request), "call request");
        h.calls.push_back(Call{id, std::string(from_abi(service)),
                               v.is_object() ? std::move(v.as_object()) : boost::json::object{}});
      };
      api_.cancel_call = [](void* ctx, std::uint64_t id) {
        if (Call* c = self(ctx).find_call(id); c && !c->ended) c->cancelled = true;
      };
      api_.struct_size = offsetof(avenor_host_api, emit_event_serialized);
    }
    if (abi_minor >= 2) {
      api_.emit_event_serialized = [](void* ctx, const avenor_event* e) {
        self(ctx).on_serialized(*e);
      };
      api_.struct_size = sizeof(api_);
    }
  }
  // A bool would silently become ABI minor 0 or 1; say the minor instead.
  FakeHost(std::same_as<bool> auto) = delete;
  // api_.ctx points at this object.
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  std::uint32_t abi_minor() const { return abi_minor_; }
  const avenor_host_api* api() const { return &api_; }
  // Copies share their service calls, so answers reach the backend's callbacks.
  sdk::Host host() const { return host_; }

  // A fresh operation handle with a new id (C++ layer tests).
  sdk::Operation op() { return sdk::Operation(host_, next_op_id()); }
  std::uint64_t next_op_id() { return next_op_++; }
  std::uint64_t last_op() const { return next_op_ - 1; }

  // --- what the plugin wrote to the child's stdin -----------------------------
  // Everything written since the last call, raw.
  std::string take_bytes() { return std::exchange(written_, {}); }
  // Everything written since the last call, one JSON object per line.
  std::vector<boost::json::object> take_messages() {
    std::vector<boost::json::object> out;
    std::string_view rest = written_;
    while (!rest.empty()) {
      std::size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      if (!line.empty()) out.push_back(json::parse(line).as_object());
    }
    written_.clear();
    return out;
  }

  // --- events and operations ----------------------------------------------------
  std::vector<boost::json::object> take_events() { return std::exchange(events, {}); }
  std::vector<std::string> event_names() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(json::string_or(e, "event"));
    return out;
  }
  bool is_completed(std::uint64_t op) const { return completed.contains(op); }
  bool is_failed(std::uint64_t op) const { return failed.contains(op); }
  bool is_finished(std::uint64_t op) const { return is_completed(op) || is_failed(op); }
  // Operations finished more than once (the ABI allows exactly one complete/fail).
  std::vector<std::uint64_t> finished_twice() const {
    std::vector<std::uint64_t> ops;
    for (const auto& [op, n] : finishes) {
      if (n > 1) ops.push_back(op);
    }
    return ops;
  }
  std::string failure(std::uint64_t op) const {
    auto it = failed.find(op);
    return it == failed.end() ? std::string("<not failed>") : it->second.message;
  }

  // --- host service calls (ABI 1.1) -------------------------------------------
  // The first call of `service` not yet answered, or null.
  Call* open_call(std::string_view service) {
    for (auto& c : calls) {
      if (!c.ended && c.service == service) return &c;
    }
    return nullptr;
  }
  Call* find_call(std::uint64_t id) {
    for (auto& c : calls) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }
  // Answers call `id` as the host would, through on_call_data / on_call_result
  // (the C boundary when an Instance drives the plugin, else host().calls()).
  // Answering an unknown or ended call throws: that is a bug in the test.
  void answer_data(std::uint64_t id, std::string_view data) {
    open(id);
    if (to_plugin_.on_data)
      to_plugin_.on_data(to_plugin_.target, id, data);
    else
      host_.calls().deliver_data(id, data);
  }
  void answer(std::uint64_t id, const boost::json::value& result) {
    end(id, 0, json::dump(result));
  }
  void answer_failure(std::uint64_t id, std::string_view message,
                      avenor_failure kind = AVENOR_FAILURE_ERROR) {
    end(id, kind, message);
  }
  // What the real host does after cancel_call: a cancelled result for each
  // cancelled call still open. Returns how many it ended.
  std::size_t settle_cancelled() {
    std::vector<std::uint64_t> ids;
    for (const auto& c : calls) {
      if (c.cancelled && !c.ended) ids.push_back(c.id);
    }
    for (auto id : ids) end(id, AVENOR_FAILURE_CANCELLED, "cancelled");
    return ids.size();
  }

  // --- everything recorded (read and clear freely) ----------------------------
  std::vector<boost::json::object> events;
  std::vector<Serialized> serialized;  // emit_event_serialized calls (ABI 1.2)
  std::map<std::uint64_t, boost::json::value> completed;
  std::map<std::uint64_t, Failure> failed;
  std::map<std::uint64_t, int> finishes;          // complete + fail calls per operation
  std::map<std::uint64_t, std::uint64_t> timers;  // armed timers: id → delay ms
  std::deque<Call> calls;  // a deque: references stay valid as calls are added
  std::vector<std::pair<std::int32_t, std::string>> logs;
  std::vector<std::string> fatals;
  // Emits, completions, failures and calls in call order
  // ("emit:<event>", "complete:<op>", "fail:<op>", "call:<service>").
  std::vector<std::string> trace;
  // Promises of the ABI the plugin broke (an invalid result JSON, a serialised
  // event whose fields disagree with its json, ...). Expect it to stay empty.
  std::vector<std::string> problems;

 private:
  friend class Instance;
  // Where service answers go when a plugin is driven through the C boundary.
  struct PluginSide {
    void* target = nullptr;
    void (*on_data)(void* target, std::uint64_t id, std::string_view data) = nullptr;
    void (*on_end)(void* target, std::uint64_t id, std::int32_t status,
                   std::string_view text) = nullptr;
  };

  static FakeHost& self(void* ctx) { return *static_cast<FakeHost*>(ctx); }

  void open(std::uint64_t id) {
    Call* c = find_call(id);
    if (!c) throw std::logic_error("FakeHost: no service call " + std::to_string(id));
    if (c->ended) throw std::logic_error("FakeHost: call " + std::to_string(id) + " has ended");
  }
  void end(std::uint64_t id, std::int32_t status, std::string_view text) {
    open(id);
    find_call(id)->ended = true;  // before delivery: the plugin may start new calls
    if (to_plugin_.on_end)
      to_plugin_.on_end(to_plugin_.target, id, status, text);
    else
      host_.calls().deliver_end(id, CallEnd{status, std::string(text)});
  }

  void finished(std::uint64_t op) {
    if (++finishes[op] == 2)
      problems.push_back("operation " + std::to_string(op) + " finished twice");
  }

  // Exceptions must not cross back into the plugin: bad JSON becomes a problem.
  boost::json::value parse_or_note(std::string_view text, const std::string& what) {
    try {
      return json::parse(text);
    } catch (const std::exception& e) {
      problems.push_back(what + ": invalid JSON: " + e.what());
      return nullptr;
    }
  }

  void on_emit(std::string_view text) {
    boost::json::value v = parse_or_note(text, "event");
    if (!v.is_object()) {
      if (!v.is_null()) problems.push_back("event is not a JSON object: " + std::string(text));
      return;
    }
    trace.push_back("emit:" + json::string_or(v.as_object(), "event"));
    events.push_back(std::move(v.as_object()));
  }

  // The promises of avenor_event (plugin_abi.h), checked as a reader would.
  void on_serialized(const avenor_event& e) {
    Serialized s{std::string(from_abi(e.json)), std::string(from_abi(e.event)),
                 std::string(from_abi(e.session_id)), std::string(from_abi(e.text)), e.flags};
    const std::size_t before = events.size();
    on_emit(s.json);
    if (events.size() > before) check_serialized(s, events.back());
    serialized.push_back(std::move(s));
  }
  void check_serialized(const Serialized& s, const boost::json::object& o) {
    auto note = [&](const std::string& why) {
      problems.push_back("serialised event " + s.json + ": " + why);
    };
    if (s.json.find('\n') != std::string::npos) note("contains a newline");
    for (const char* key : {"ts", "seq", "run_id", "run_label", "runtime_id"}) {
      if (o.contains(key)) note(std::string("has envelope key ") + key);
    }
    if (json::string_or(o, "event") != s.type) note("event field is \"" + s.type + "\"");
    if (json::string_or(o, "session_id") != s.session_id)
      note("session_id field is \"" + s.session_id + "\"");
    if (o.contains("session_id") && s.session_id.empty()) note("empty session_id");
    std::string text;
    if (const auto* content = json::find_object(o, "content"))
      text = json::string_or(*content, "text");
    if (text.empty()) text = json::string_or(o, "delta");
    if (text != s.text) note("text field is \"" + s.text + "\", expected \"" + text + "\"");
    const auto* usage = o.if_contains("usage");
    if ((usage && usage->is_object()) != ((s.flags & AVENOR_EVENT_USAGE) != 0))
      note("AVENOR_EVENT_USAGE flag disagrees with the usage member");
  }

  std::uint32_t abi_minor_;
  avenor_host_api api_{};
  sdk::Host host_;
  PluginSide to_plugin_;
  std::string written_;
  std::uint64_t next_op_ = 1;
};

}  // namespace avenor::sdk::testing
