// The untyped half of the host services (ABI 1.1): starts a named service call
// with a JSON request and routes the host's on_call_data / on_call_result back
// to the callbacks of that call. Plugin code normally uses the typed
// avenor::sdk::Services (services.hpp) built on top of this.
#pragma once

#include <avenor/abi/plugin_abi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace avenor::sdk {

using CallId = std::uint64_t;

// How a service call ended.
struct CallEnd {
  std::int32_t status = 0;  // 0 ok, else an avenor_failure
  std::string text;         // the JSON result when ok, else a one-line message

  bool ok() const { return status == 0; }
  bool cancelled() const { return status == AVENOR_FAILURE_CANCELLED; }
};

class ServiceCalls {
 public:
  using DataFn = std::function<void(std::string_view data)>;
  using EndFn = std::function<void(const CallEnd& end)>;

  explicit ServiceCalls(const avenor_host_api* api) : api_(api) {}
  ServiceCalls(const ServiceCalls&) = delete;
  ServiceCalls& operator=(const ServiceCalls&) = delete;

  // True when the host offers services (an ABI 1.1 host or newer).
  bool available() const {
    return api_ && api_->struct_size >= offsetof(avenor_host_api, cancel_call) + sizeof(void*) &&
           api_->call != nullptr;
  }

  // Starts a call; `on_data` may run several times, then `on_end` once.
  // Throws std::runtime_error when the host offers no services (an older host
  // could never call back, so the caller learns it now).
  CallId start(std::string_view service, std::string_view request_json, DataFn on_data,
               EndFn on_end) {
    if (!available())
      throw std::runtime_error("the avenor host is too old for service " + std::string(service) +
                               " (needs plugin ABI 1.1)");
    CallId id = next_id_++;
    calls_.emplace(id, Call{std::move(on_data), std::move(on_end)});
    api_->call(api_->ctx, id, avenor_str{service.data(), service.size()},
               avenor_str{request_json.data(), request_json.size()});
    return id;
  }

  void cancel(CallId id) {
    if (calls_.count(id) && available()) api_->cancel_call(api_->ctx, id);
  }

  bool active(CallId id) const { return calls_.count(id) != 0; }

  // --- from the host (the plugin's on_call_data / on_call_result) ---------
  void deliver_data(CallId id, std::string_view data) {
    auto it = calls_.find(id);
    if (it != calls_.end() && it->second.on_data) it->second.on_data(data);
  }
  void deliver_end(CallId id, CallEnd end) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    EndFn on_end = std::move(it->second.on_end);
    calls_.erase(it);  // before the callback: it may start a new call
    if (on_end) on_end(end);
  }

 private:
  struct Call {
    DataFn on_data;
    EndFn on_end;
  };
  const avenor_host_api* api_;
  std::map<CallId, Call> calls_;
  CallId next_id_ = 1;
};

}  // namespace avenor::sdk
