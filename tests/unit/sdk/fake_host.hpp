// A recording avenor_host_api for plugin unit tests: everything a plugin asks
// of the host is kept for assertions, and nothing is done.
#pragma once

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/host.hpp>
#include <avenor/sdk/json.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::test {

class FakeHost {
 public:
  struct Failure {
    std::int32_t kind;
    std::string message;
  };

  // One emit_event_serialized call (ABI 1.2), as the plugin passed it.
  struct Serialized {
    std::string json, type, session_id, text;
    std::uint32_t flags = 0;
  };

  // `serialized`: offer emit_event_serialized (ABI 1.2) as avenor does; by
  // default the host is a 1.1 one and events arrive through emit_event.
  explicit FakeHost(bool serialized = false) {
    api_.struct_size = sizeof(api_);
    api_.ctx = this;
    api_.emit_event = [](void* ctx, avenor_str e) { self(ctx).on_emit(sdk::from_abi(e)); };
    if (serialized) {
      api_.emit_event_serialized = [](void* ctx, const avenor_event* e) {
        self(ctx).serialized.push_back(Serialized{std::string(sdk::from_abi(e->json)),
                                                  std::string(sdk::from_abi(e->event)),
                                                  std::string(sdk::from_abi(e->session_id)),
                                                  std::string(sdk::from_abi(e->text)), e->flags});
        self(ctx).on_emit(sdk::from_abi(e->json));
      };
    }
    api_.write = [](void* ctx, avenor_str b) { self(ctx).written_.append(sdk::from_abi(b)); };
    api_.complete = [](void* ctx, std::uint64_t op, avenor_str r) {
      self(ctx).trace.push_back("complete:" + std::to_string(op));
      ++self(ctx).finishes[op];
      self(ctx).completed[op] = sdk::json::parse(sdk::from_abi(r));
    };
    api_.fail = [](void* ctx, std::uint64_t op, std::int32_t kind, avenor_str m) {
      self(ctx).trace.push_back("fail:" + std::to_string(op));
      ++self(ctx).finishes[op];
      self(ctx).failed[op] = Failure{kind, std::string(sdk::from_abi(m))};
    };
    api_.set_timer = [](void* ctx, std::uint64_t id, std::uint64_t ms) {
      self(ctx).timers[id] = ms;
    };
    api_.cancel_timer = [](void* ctx, std::uint64_t id) { self(ctx).timers.erase(id); };
    api_.log = [](void* ctx, std::int32_t level, avenor_str m) {
      self(ctx).logs.emplace_back(level, std::string(sdk::from_abi(m)));
    };
    api_.fatal = [](void* ctx, avenor_str m) { self(ctx).fatals.emplace_back(sdk::from_abi(m)); };
  }
  // api_.ctx points at this object.
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  const avenor_host_api* api() const { return &api_; }
  sdk::Host host() const { return sdk::Host(&api_); }

  // A fresh operation handle with a new id.
  sdk::Operation op() { return sdk::Operation(host(), next_op_++); }
  std::uint64_t last_op() const { return next_op_ - 1; }

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
      if (!line.empty()) out.push_back(sdk::json::parse(line).as_object());
    }
    written_.clear();
    return out;
  }

  std::vector<boost::json::object> take_events() { return std::exchange(events, {}); }

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

  std::vector<boost::json::object> events;
  std::vector<Serialized> serialized;  // with FakeHost(true)
  std::map<std::uint64_t, boost::json::value> completed;
  std::map<std::uint64_t, Failure> failed;
  std::map<std::uint64_t, int> finishes;  // complete + fail calls per operation
  std::map<std::uint64_t, std::uint64_t> timers;
  std::vector<std::pair<std::int32_t, std::string>> logs;
  std::vector<std::string> fatals;
  // Emits, completions and failures in call order ("emit:<event>", "complete:<op>", ...).
  std::vector<std::string> trace;

 private:
  static FakeHost& self(void* ctx) { return *static_cast<FakeHost*>(ctx); }

  void on_emit(std::string_view text) {
    boost::json::object event = sdk::json::parse(text).as_object();
    trace.push_back("emit:" + sdk::json::string_or(event, "event"));
    events.push_back(std::move(event));
  }

  avenor_host_api api_{};
  std::string written_;
  std::uint64_t next_op_ = 1;
};

}  // namespace avenor::test
