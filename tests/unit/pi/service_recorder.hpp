// A host API for pi backend tests: FakeHost (avenor/sdk/testing) for everything it
// records, plus the ABI 1.1 service calls, which are recorded here and answered
// by the test through the same sdk::Host the backend holds.
#pragma once

#include <avenor/sdk/host.hpp>
#include <avenor/sdk/testing/fake_host.hpp>
#include <string>
#include <vector>

namespace avenor::test {

class ServiceRecorder {
 public:
  struct Call {
    std::uint64_t id;
    std::string service;
    boost::json::object request;
  };

  explicit ServiceRecorder(sdk::testing::FakeHost& fake, bool offer_services = true)
      : inner_(fake.api()), api_(*fake.api()), host_(&api_) {
    api_.ctx = this;
    // Everything FakeHost knows is forwarded to it with its own context.
    api_.emit_event = [](void* c, avenor_str e) { in(c)->emit_event(in(c)->ctx, e); };
    api_.write = [](void* c, avenor_str b) { in(c)->write(in(c)->ctx, b); };
    api_.complete = [](void* c, std::uint64_t op, avenor_str r) {
      in(c)->complete(in(c)->ctx, op, r);
    };
    api_.fail = [](void* c, std::uint64_t op, std::int32_t k, avenor_str m) {
      in(c)->fail(in(c)->ctx, op, k, m);
    };
    api_.set_timer = [](void* c, std::uint64_t id, std::uint64_t ms) {
      in(c)->set_timer(in(c)->ctx, id, ms);
    };
    api_.cancel_timer = [](void* c, std::uint64_t id) { in(c)->cancel_timer(in(c)->ctx, id); };
    api_.log = [](void* c, std::int32_t l, avenor_str m) { in(c)->log(in(c)->ctx, l, m); };
    api_.fatal = [](void* c, avenor_str m) { in(c)->fatal(in(c)->ctx, m); };
    api_.struct_size = sizeof(api_);
    if (offer_services) {
      api_.call = [](void* c, std::uint64_t id, avenor_str service, avenor_str request) {
        self(c).calls.push_back({id, std::string(sdk::from_abi(service)),
                                 sdk::json::parse(sdk::from_abi(request)).as_object()});
      };
      api_.cancel_call = [](void*, std::uint64_t) {};
    } else {
      api_.call = nullptr;
      api_.cancel_call = nullptr;
    }
  }
  ServiceRecorder(const ServiceRecorder&) = delete;
  ServiceRecorder& operator=(const ServiceRecorder&) = delete;

  // The Host to give the backend: results delivered here reach its callbacks.
  const sdk::Host& host() const { return host_; }
  sdk::Operation op(std::uint64_t id) const { return sdk::Operation(host_, id); }

  void finish(const Call& call, const boost::json::object& result) {
    host_.calls().deliver_end(call.id, sdk::CallEnd{0, sdk::json::dump(result)});
  }
  void fail(const Call& call, std::string message) {
    host_.calls().deliver_end(call.id, sdk::CallEnd{AVENOR_FAILURE_ERROR, std::move(message)});
  }

  std::vector<Call> calls;

 private:
  static ServiceRecorder& self(void* c) { return *static_cast<ServiceRecorder*>(c); }
  static const avenor_host_api* in(void* c) { return self(c).inner_; }

  const avenor_host_api* inner_;
  avenor_host_api api_;
  sdk::Host host_;
};

}  // namespace avenor::test
