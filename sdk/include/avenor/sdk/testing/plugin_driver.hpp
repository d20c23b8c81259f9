// Drives a compiled plugin through the real C boundary, as the avenor host
// does: the entry symbol, the descriptor and the vtable, with a FakeHost as
// the host's side. A test plays the child process (feed bytes, close) and the
// event loop (fire timers, answer service calls) and reads what the host
// would have seen from the FakeHost.
//
//   auto plugin = avenor::sdk::testing::Plugin::load("build/echo.so");
//   avenor::sdk::testing::FakeHost host;
//   avenor::sdk::testing::Instance echo(plugin, host, "echo", {{"dir", "/tmp"}});
//   auto op = echo.start_session();
//   assert(host.is_completed(op));
//
// Failures of the plugin (an error from create or launch_spec, a descriptor
// the host would refuse) throw std::runtime_error with the host's message.
// Needs dlopen: link ${CMAKE_DL_LIBS} (nothing on glibc 2.34 and later).
#pragma once

#include <avenor/abi/plugin_abi.h>
#include <dlfcn.h>

#include <avenor/sdk/descriptor_check.hpp>
#include <avenor/sdk/json.hpp>
#include <avenor/sdk/testing/fake_host.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::sdk::testing {

// A plugin's descriptor, checked as the host checks it when it loads the plugin.
class Plugin {
 public:
  // dlopen()s `path` (RTLD_NOW | RTLD_LOCAL, as the host does) and calls its
  // entry symbol. The library stays loaded while this Plugin lives.
  static Plugin load(const std::string& path) {
    Library lib(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL), &dlclose);
    if (!lib) {
      const char* why = dlerror();
      throw std::runtime_error("cannot load plugin: " + std::string(why ? why : path));
    }
    auto entry =
        reinterpret_cast<avenor_plugin_entry_fn>(dlsym(lib.get(), AVENOR_PLUGIN_ENTRY_SYMBOL));
    if (!entry)
      throw std::runtime_error(std::string("not an avenor plugin: missing symbol ") +
                               AVENOR_PLUGIN_ENTRY_SYMBOL);
    return Plugin(entry, std::move(lib));
  }

  // A plugin linked into the test itself (its entry function).
  explicit Plugin(avenor_plugin_entry_fn entry) : Plugin(entry, Library(nullptr, &dlclose)) {}

  const avenor_plugin_descriptor& descriptor() const { return *descriptor_; }
  const avenor_plugin_vtable& vtable() const { return *descriptor_->vtable; }
  std::string name() const { return descriptor_->plugin_name; }
  std::string version() const {
    return descriptor_->plugin_version ? descriptor_->plugin_version : "";
  }
  // "1.2": what `avenor plugins` prints as abi=.
  std::string abi() const {
    return std::to_string(descriptor_->abi_major) + "." + std::to_string(descriptor_->abi_minor);
  }
  // The backends it declares, in order.
  std::vector<const avenor_backend_info*> backends() const {
    std::vector<const avenor_backend_info*> out;
    for (std::size_t i = 0; i < descriptor_->backend_count; ++i)
      out.push_back(&descriptor_->backends[i]);
    return out;
  }
  // Whether the plugin takes service results (a 1.1 vtable), as the host asks.
  bool takes_service_results() const { return sdk::takes_service_results(vtable()); }

 private:
  using Library = std::unique_ptr<void, int (*)(void*)>;

  Plugin(avenor_plugin_entry_fn entry, Library lib) : library_(std::move(lib)) {
    descriptor_ = entry();
    check_descriptor(descriptor_);  // the host's refusals, same words
  }

  Library library_;  // before descriptor_: the descriptor lives in the library
  const avenor_plugin_descriptor* descriptor_ = nullptr;
};

// One plugin instance (one backend connection), created with `host` as its
// avenor_host_api. Both `plugin` and `host` must outlive it; one FakeHost
// serves one Instance at a time, as the real host gives each its own table.
class Instance {
 public:
  Instance(const Plugin& plugin, FakeHost& host, std::string_view backend,
           const boost::json::object& options = {})
      : vtable_(&plugin.vtable()), host_(&host) {
    std::string error;
    const std::string opts = json::dump(options);
    if (vtable_->create(to_abi(backend), to_abi(opts), host.api(), &instance_, sink(error)) != 0 ||
        !instance_)
      throw std::runtime_error("cannot start backend " + std::string(backend) + ": " + error);
    if (plugin.takes_service_results()) {
      host.to_plugin_ = FakeHost::PluginSide{this, &Instance::deliver_data, &Instance::deliver_end};
    }
  }
  ~Instance() {
    host_->to_plugin_ = {};
    vtable_->destroy(instance_);
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  FakeHost& host() const { return *host_; }
  avenor_instance* raw() const { return instance_; }

  // {"argv":[...], "env":{...}, "unset_env":[...], "cwd":""}; throws on error.
  boost::json::object launch_spec() {
    std::string out, error;
    if (vtable_->launch_spec(instance_, sink(out), sink(error)) != 0)
      throw std::runtime_error("launch spec: " + error);
    boost::json::value v = json::parse(out);
    if (!v.is_object()) throw std::runtime_error("launch spec is not a JSON object: " + out);
    return std::move(v.as_object());
  }

  // --- the child process, played by the test --------------------------------
  void feed(std::string_view stdout_bytes) { vtable_->on_bytes(instance_, to_abi(stdout_bytes)); }
  void close(std::string_view reason = "") { vtable_->on_closed(instance_, to_abi(reason)); }

  // --- the event loop ---------------------------------------------------------
  // Fires an armed timer (it is disarmed first, as a one-shot timer is).
  // Returns false, without calling the plugin, when `id` is not armed.
  bool fire_timer(std::uint64_t id) {
    if (host_->timers.erase(id) == 0) return false;
    vtable_->on_timer(instance_, id);
    return true;
  }
  // Service calls are answered through host().answer(...), which lands in
  // the plugin's on_call_data / on_call_result.

  // --- operations: each returns the new operation's id ------------------------
  std::uint64_t start_session(const boost::json::object& params = {}) {
    return run(vtable_->start_session, params);
  }
  std::uint64_t resume_session(std::string_view session_id) {
    return start_session({{"resume_session_id", session_id}});
  }
  std::uint64_t prompt(std::string_view session_id, std::string_view text) {
    return run(vtable_->prompt, {{"session_id", session_id}, {"text", text}});
  }
  std::uint64_t cancel(std::string_view session_id) {
    return run(vtable_->cancel, {{"session_id", session_id}});
  }
  // {"session_id", "request_id", "allow", "option_id", "message", "cancelled"}
  std::uint64_t answer_permission(const boost::json::object& params) {
    return run(vtable_->answer_permission, params);
  }

 private:
  using OperationFn = void (*)(avenor_instance*, std::uint64_t, avenor_str);

  static avenor_sink sink(std::string& into) {
    return avenor_sink{&into, [](void* ctx, avenor_str s) {
                         static_cast<std::string*>(ctx)->assign(from_abi(s));
                       }};
  }

  std::uint64_t run(OperationFn fn, const boost::json::object& params) {
    const std::uint64_t op = host_->next_op_id();
    const std::string text = json::dump(params);
    fn(instance_, op, to_abi(text));
    return op;
  }

  static void deliver_data(void* self, std::uint64_t id, std::string_view data) {
    auto* in = static_cast<Instance*>(self);
    in->vtable_->on_call_data(in->instance_, id, to_abi(data));
  }
  static void deliver_end(void* self, std::uint64_t id, std::int32_t status,
                          std::string_view text) {
    auto* in = static_cast<Instance*>(self);
    in->vtable_->on_call_result(in->instance_, id, status, to_abi(text));
  }

  const avenor_plugin_vtable* vtable_;
  FakeHost* host_;
  avenor_instance* instance_ = nullptr;
};

}  // namespace avenor::sdk::testing
