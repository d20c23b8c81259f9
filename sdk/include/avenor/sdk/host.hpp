// The host's services as seen from a plugin: a thin, typed wrapper over
// avenor_host_api so plugin code never touches C structs or raw strings.
#pragma once

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/event_text.hpp>
#include <avenor/sdk/json.hpp>
#include <avenor/sdk/services.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace avenor::sdk {

inline avenor_str to_abi(std::string_view s) { return avenor_str{s.data(), s.size()}; }
inline std::string_view from_abi(avenor_str s) {
  return s.data ? std::string_view(s.data, s.size) : std::string_view{};
}

enum class LogLevel : std::int32_t {
  debug = AVENOR_LOG_DEBUG,
  info = AVENOR_LOG_INFO,
  warn = AVENOR_LOG_WARN,
  error = AVENOR_LOG_ERROR
};

class Host {
 public:
  // Copies of one Host share its service calls, so a result reaches the
  // callbacks whichever copy started the call.
  explicit Host(const avenor_host_api* api)
      : api_(api),
        calls_(std::make_shared<ServiceCalls>(api)),
        scratch_(std::make_shared<EventText>()) {}

  // A normalized event. It is serialised once, here; the envelope keys and an
  // empty session_id are left out (EventText).
  void emit(const boost::json::object& event) const {
    scratch_->assign(event);
    emit(*scratch_);
  }
  // An event built with EventText (closed first), the cheapest way to emit.
  void emit(EventText& event) const {
    event.close();
    if (takes_serialized_events()) {
      const avenor_event e{
          sizeof(avenor_event), to_abi(event.json()),
          to_abi(event.type()), to_abi(event.session_id()),
          to_abi(event.text()), event.has_usage() ? std::uint32_t{AVENOR_EVENT_USAGE} : 0u};
      api_->emit_event_serialized(api_->ctx, &e);
    } else {
      api_->emit_event(api_->ctx, to_abi(event.json()));  // a host before ABI 1.2
    }
  }
  void write(std::string_view bytes) const { api_->write(api_->ctx, to_abi(bytes)); }
  void complete(std::uint64_t op, const boost::json::value& result) const {
    std::string text = json::dump(result);
    api_->complete(api_->ctx, op, to_abi(text));
  }
  void fail(std::uint64_t op, std::string_view message,
            avenor_failure kind = AVENOR_FAILURE_ERROR) const {
    api_->fail(api_->ctx, op, kind, to_abi(message));
  }
  void set_timer(std::uint64_t id, std::chrono::milliseconds delay) const {
    api_->set_timer(api_->ctx, id, static_cast<std::uint64_t>(delay.count()));
  }
  void cancel_timer(std::uint64_t id) const { api_->cancel_timer(api_->ctx, id); }
  void log(LogLevel level, std::string_view message) const {
    api_->log(api_->ctx, static_cast<std::int32_t>(level), to_abi(message));
  }
  void fatal(std::string_view message) const { api_->fatal(api_->ctx, to_abi(message)); }

  // Host services (ABI 1.1): processes, HTTP, files.
  Services services() const { return Services(*calls_); }
  ServiceCalls& calls() const { return *calls_; }

 private:
  bool takes_serialized_events() const {
    return api_->struct_size >= offsetof(avenor_host_api, emit_event_serialized) + sizeof(void*) &&
           api_->emit_event_serialized != nullptr;
  }

  const avenor_host_api* api_;
  std::shared_ptr<ServiceCalls> calls_;
  std::shared_ptr<EventText> scratch_;  // reused by emit(object): no allocation per event
};

// One asynchronous operation handed to the plugin. It finishes exactly once:
// a second complete/fail is ignored, and an operation dropped unfinished fails
// itself so the host never waits forever on a forgotten callback.
class Operation {
 public:
  Operation(Host host, std::uint64_t id) : state_(std::make_shared<State>(host, id)) {}

  std::uint64_t id() const { return state_->id; }
  bool done() const { return state_->done; }

  void complete(const boost::json::value& result = boost::json::object{}) const {
    if (std::exchange(state_->done, true)) return;
    state_->host.complete(state_->id, result);
  }
  void fail(std::string_view message, avenor_failure kind = AVENOR_FAILURE_ERROR) const {
    if (std::exchange(state_->done, true)) return;
    state_->host.fail(state_->id, message, kind);
  }

 private:
  struct State {
    State(Host h, std::uint64_t i) : host(h), id(i) {}
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    Host host;
    std::uint64_t id;
    bool done = false;
    ~State() {
      if (!done) host.fail(id, "operation dropped by the plugin");
    }
  };
  std::shared_ptr<State> state_;
};

}  // namespace avenor::sdk
