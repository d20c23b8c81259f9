// A recording avenor_host_api with host services, for the opencode-http
// backend tests: calls are kept for assertions and answered by the test
// (respond / stream / end_stream), timers are kept and fired by the test.
#pragma once

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/host.hpp>
#include <avenor/sdk/json.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::test {

class ServiceFakeHost {
 public:
  struct Call {
    std::uint64_t id = 0;
    std::string service;
    boost::json::object request;
    bool cancelled = false;
    bool ended = false;

    std::string method() const { return sdk::json::string_or(request, "method"); }
    std::string url() const { return sdk::json::string_or(request, "url"); }
    std::string body() const { return sdk::json::string_or(request, "body"); }
    std::string header(std::string_view name) const {
      const auto* h = sdk::json::find_object(request, "headers");
      return h ? sdk::json::string_or(*h, name) : std::string();
    }
    bool stream() const { return sdk::json::bool_or(request, "stream"); }
  };

  ServiceFakeHost() : host_(init()) {}
  ServiceFakeHost(const ServiceFakeHost&) = delete;
  ServiceFakeHost& operator=(const ServiceFakeHost&) = delete;

  // The one Host whose service calls the test answers.
  sdk::Host host() const { return host_; }
  sdk::Operation op() { return sdk::Operation(host_, next_op_++); }
  std::uint64_t last_op() const { return next_op_ - 1; }

  // --- calls ---------------------------------------------------------------
  // The open (not ended) calls whose URL ends with `suffix` and method matches.
  Call* find(std::string_view method, std::string_view url_suffix) {
    for (auto& c : calls) {
      if (c.ended || c.method() != method) continue;
      std::string url = c.url();
      if (url.size() >= url_suffix.size() &&
          url.compare(url.size() - url_suffix.size(), url_suffix.size(), url_suffix) == 0)
        return &c;
    }
    return nullptr;
  }
  void respond(Call& c, int status, std::string_view body) {
    c.ended = true;
    boost::json::object result{
        {"status", status}, {"headers", boost::json::object{}}, {"body", body}};
    host_.calls().deliver_end(c.id, sdk::CallEnd{0, sdk::json::dump(result)});
  }
  void fail(Call& c, std::string_view message) {
    c.ended = true;
    host_.calls().deliver_end(c.id, sdk::CallEnd{AVENOR_FAILURE_ERROR, std::string(message)});
  }
  void stream(Call& c, std::string_view bytes) { host_.calls().deliver_data(c.id, bytes); }
  // `data: <payload>\n\n` on a stream.
  void sse(Call& c, std::string_view payload) {
    stream(c, "data: " + std::string(payload) + "\n\n");
  }

  // --- recorded effects ------------------------------------------------------
  std::vector<boost::json::object> take_events() { return std::exchange(events, {}); }
  std::vector<std::string> event_names() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(sdk::json::string_or(e, "event"));
    return out;
  }
  bool is_completed(std::uint64_t op) const { return completed.contains(op); }
  bool is_failed(std::uint64_t op) const { return failed.contains(op); }
  std::string failure(std::uint64_t op) const {
    auto it = failed.find(op);
    return it == failed.end() ? "<not failed>" : it->second;
  }

  std::deque<Call> calls;  // a deque: references stay valid as calls are added
  std::vector<boost::json::object> events;
  std::map<std::uint64_t, boost::json::value> completed;
  std::map<std::uint64_t, std::string> failed;
  std::map<std::uint64_t, int> finishes;
  std::map<std::uint64_t, std::uint64_t> timers;  // armed timers: id → delay ms
  std::vector<std::string> logs;
  std::vector<std::string> fatals;

 private:
  static ServiceFakeHost& self(void* ctx) { return *static_cast<ServiceFakeHost*>(ctx); }

  const avenor_host_api* init() {
    api_.struct_size = sizeof(api_);
    api_.ctx = this;
    api_.emit_event = [](void* ctx, avenor_str e) {
      self(ctx).events.push_back(sdk::json::parse(sdk::from_abi(e)).as_object());
    };
    api_.write = [](void*, avenor_str) {};
    api_.complete = [](void* ctx, std::uint64_t op, avenor_str r) {
      ++self(ctx).finishes[op];
      self(ctx).completed[op] = sdk::json::parse(sdk::from_abi(r));
    };
    api_.fail = [](void* ctx, std::uint64_t op, std::int32_t, avenor_str m) {
      ++self(ctx).finishes[op];
      self(ctx).failed[op] = std::string(sdk::from_abi(m));
    };
    api_.set_timer = [](void* ctx, std::uint64_t id, std::uint64_t ms) {
      self(ctx).timers[id] = ms;
    };
    api_.cancel_timer = [](void* ctx, std::uint64_t id) { self(ctx).timers.erase(id); };
    api_.log = [](void* ctx, std::int32_t, avenor_str m) {
      self(ctx).logs.emplace_back(sdk::from_abi(m));
    };
    api_.fatal = [](void* ctx, avenor_str m) { self(ctx).fatals.emplace_back(sdk::from_abi(m)); };
    api_.call = [](void* ctx, std::uint64_t id, avenor_str service, avenor_str request) {
      self(ctx).calls.push_back(Call{id, std::string(sdk::from_abi(service)),
                                     sdk::json::parse(sdk::from_abi(request)).as_object()});
    };
    api_.cancel_call = [](void* ctx, std::uint64_t id) {
      for (auto& c : self(ctx).calls) {
        if (c.id == id && !c.ended) c.cancelled = true;
      }
    };
    return &api_;
  }

  avenor_host_api api_{};
  sdk::Host host_;
  std::uint64_t next_op_ = 1;
};

}  // namespace avenor::test
