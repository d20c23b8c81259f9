// Turns a C++ Backend factory into the C entry symbol of the plugin ABI.
// Exceptions never cross the boundary: a throwing create() becomes an error
// string, a throwing operation becomes a failed operation.
//
//   static const avenor_backend_info kBackends[] = {{...}};
//   std::unique_ptr<avenor::sdk::Backend> make(std::string_view, avenor::sdk::Host,
//                                              avenor::sdk::StartOptions);
//   AVENOR_PLUGIN("my-plugin", "1.0.0", kBackends, make)
#pragma once

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/backend.hpp>
#include <exception>
#include <iterator>
#include <memory>
#include <string_view>

namespace avenor::sdk {

using BackendFactory = std::unique_ptr<Backend> (*)(std::string_view backend, Host host,
                                                    StartOptions options);

namespace detail {

struct Instance {
  Host host;
  std::unique_ptr<Backend> backend;
};

inline Instance& instance(avenor_instance* p) { return *reinterpret_cast<Instance*>(p); }

inline void put(avenor_sink sink, std::string_view text) {
  if (sink.put) sink.put(sink.ctx, to_abi(text));
}

inline boost::json::object parse_object(avenor_str text) {
  auto v = json::parse(from_abi(text));
  if (!v.is_object()) throw std::runtime_error("expected a JSON object");
  return std::move(v.as_object());
}

// Runs an operation body; an exception fails the operation instead of escaping.
template <class Body>
void run_operation(avenor_instance* p, std::uint64_t op_id, avenor_str params, Body body) {
  Instance& in = instance(p);
  Operation op(in.host, op_id);
  try {
    body(*in.backend, op, parse_object(params));
  } catch (const std::exception& e) {
    op.fail(e.what());
  }
}

template <BackendFactory Factory>
struct Trampolines {
  static int32_t create(avenor_str backend, avenor_str options_json, const avenor_host_api* api,
                        avenor_instance** out, avenor_sink error) noexcept {
    try {
      Host host(api);
      auto options = StartOptions::from_json(parse_object(options_json));
      auto in =
          std::make_unique<Instance>(Instance{host, Factory(from_abi(backend), host, options)});
      if (!in->backend) throw std::runtime_error("plugin does not provide this backend");
      *out = reinterpret_cast<avenor_instance*>(in.release());
      return 0;
    } catch (const std::exception& e) {
      put(error, e.what());
      return 1;
    }
  }
  static void destroy(avenor_instance* p) noexcept {
    std::unique_ptr<Instance> owned(&instance(p));
  }
  static int32_t launch_spec(avenor_instance* p, avenor_sink out, avenor_sink error) noexcept {
    try {
      put(out, json::dump(instance(p).backend->launch().to_json()));
      return 0;
    } catch (const std::exception& e) {
      put(error, e.what());
      return 1;
    }
  }
  static void on_bytes(avenor_instance* p, avenor_str bytes) noexcept {
    try {
      instance(p).backend->on_bytes(from_abi(bytes));
    } catch (const std::exception& e) {
      instance(p).host.fatal(e.what());
    }
  }
  static void on_closed(avenor_instance* p, avenor_str reason) noexcept {
    try {
      instance(p).backend->on_closed(from_abi(reason));
    } catch (const std::exception& e) {
      instance(p).host.log(LogLevel::error, e.what());
    }
  }
  static void on_timer(avenor_instance* p, std::uint64_t id) noexcept {
    try {
      instance(p).backend->on_timer(id);
    } catch (const std::exception& e) {
      instance(p).host.fatal(e.what());
    }
  }
  static void start_session(avenor_instance* p, std::uint64_t op, avenor_str params) noexcept {
    run_operation(p, op, params, [](Backend& b, Operation& o, const boost::json::object& q) {
      auto resume = json::find_string(q, "resume_session_id");
      if (resume && resume->empty()) resume.reset();
      b.start_session(o, resume);
    });
  }
  static void prompt(avenor_instance* p, std::uint64_t op, avenor_str params) noexcept {
    run_operation(p, op, params, [](Backend& b, Operation& o, const boost::json::object& q) {
      b.prompt(o, json::string_or(q, "session_id"), json::string_or(q, "text"));
    });
  }
  static void cancel(avenor_instance* p, std::uint64_t op, avenor_str params) noexcept {
    run_operation(p, op, params, [](Backend& b, Operation& o, const boost::json::object& q) {
      b.cancel(o, json::string_or(q, "session_id"));
    });
  }
  static void answer_permission(avenor_instance* p, std::uint64_t op, avenor_str params) noexcept {
    run_operation(p, op, params, [](Backend& b, Operation& o, const boost::json::object& q) {
      b.answer_permission(o, PermissionAnswer::from_json(q));
    });
  }

  static void on_call_data(avenor_instance* p, std::uint64_t call, avenor_str data) noexcept {
    try {
      instance(p).host.calls().deliver_data(call, from_abi(data));
    } catch (const std::exception& e) {
      instance(p).host.fatal(e.what());
    }
  }
  static void on_call_result(avenor_instance* p, std::uint64_t call, std::int32_t status,
                             avenor_str result) noexcept {
    try {
      instance(p).host.calls().deliver_end(call, CallEnd{status, std::string(from_abi(result))});
    } catch (const std::exception& e) {
      instance(p).host.fatal(e.what());
    }
  }

  static constexpr avenor_plugin_vtable vtable{sizeof(avenor_plugin_vtable),
                                               &create,
                                               &destroy,
                                               &launch_spec,
                                               &on_bytes,
                                               &on_closed,
                                               &on_timer,
                                               &start_session,
                                               &prompt,
                                               &cancel,
                                               &answer_permission,
                                               &on_call_data,
                                               &on_call_result};
};

}  // namespace detail
}  // namespace avenor::sdk

#define AVENOR_PLUGIN(NAME, VERSION, BACKENDS, FACTORY)                             \
  extern "C" __attribute__((visibility("default"))) const avenor_plugin_descriptor* \
  avenor_plugin_entry(void) {                                                       \
    static const avenor_plugin_descriptor descriptor{                               \
        AVENOR_ABI_MAJOR,                                                           \
        AVENOR_ABI_MINOR,                                                           \
        sizeof(avenor_plugin_descriptor),                                           \
        NAME,                                                                       \
        VERSION,                                                                    \
        BACKENDS,                                                                   \
        std::size(BACKENDS),                                                        \
        &::avenor::sdk::detail::Trampolines<FACTORY>::vtable};                      \
    return &descriptor;                                                             \
  }
