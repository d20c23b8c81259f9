#include "plugin_host/plugin_library.hpp"

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace avenor::host {

namespace {

// A 1.0 vtable ends before on_call_data; minors only append, so a plugin
// built against 1.0 still loads (the host checks struct_size before using
// a 1.1 member, BackendConnection::has_call_handlers).
constexpr std::uint32_t kAbi10VtableSize = offsetof(avenor_plugin_vtable, on_call_data);

std::string text_or_empty(const char* s) { return s ? std::string(s) : std::string(); }

std::string supported_abi() {
  return std::to_string(AVENOR_ABI_MAJOR) + ".x (up to " + std::to_string(AVENOR_ABI_MAJOR) + "." +
         std::to_string(AVENOR_ABI_MINOR) + ")";
}

}  // namespace

std::shared_ptr<PluginLibrary> PluginLibrary::load(const std::filesystem::path& path) {
  auto lib = std::make_shared<PluginLibrary>(Key{});
  lib->path_ = path;
  boost::dll::fs::error_code ec;
  // RTLD_LOCAL keeps each plugin's symbols to itself: two plugins built from
  // different SDK versions must not resolve into each other.
  lib->library_.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    const char* why = dlerror();
    throw std::runtime_error("cannot load plugin: " + (why ? std::string(why) : ec.message()));
  }
  if (!lib->library_.has(AVENOR_PLUGIN_ENTRY_SYMBOL))
    throw std::runtime_error(std::string("not an avenor plugin: missing symbol ") +
                             AVENOR_PLUGIN_ENTRY_SYMBOL);
  auto entry = lib->library_.get<const avenor_plugin_descriptor*()>(AVENOR_PLUGIN_ENTRY_SYMBOL);
  const avenor_plugin_descriptor* d = entry();
  if (!d) throw std::runtime_error("plugin entry returned no descriptor");
  // The major version is the first field; nothing else is read before it matches.
  if (d->abi_major != AVENOR_ABI_MAJOR)
    throw std::runtime_error("incompatible plugin ABI " + std::to_string(d->abi_major) + "." +
                             std::to_string(d->abi_minor) + "; this avenor supports ABI " +
                             supported_abi());
  if (d->struct_size < sizeof(avenor_plugin_descriptor) || !d->vtable ||
      d->vtable->struct_size < kAbi10VtableSize)
    throw std::runtime_error("malformed plugin descriptor (tables shorter than ABI " +
                             std::to_string(AVENOR_ABI_MAJOR) + ".0)");
  if (!d->plugin_name || !*d->plugin_name)
    throw std::runtime_error("plugin descriptor has no name");
  lib->name_ = d->plugin_name;
  lib->version_ = text_or_empty(d->plugin_version);
  lib->abi_major_ = d->abi_major;
  lib->abi_minor_ = d->abi_minor;
  lib->vtable_ = d->vtable;
  for (std::size_t i = 0; i < d->backend_count; ++i) {
    const avenor_backend_info& b = d->backends[i];
    if (!b.name || !*b.name) throw std::runtime_error("plugin declares a backend without a name");
    lib->backends_.push_back(BackendInfo{b.name, text_or_empty(b.cli), b.capabilities,
                                         b.thinking_levels, text_or_empty(b.doctor_checks_json)});
  }
  return lib;
}

std::string PluginLibrary::abi_version() const {
  return std::to_string(abi_major_) + "." + std::to_string(abi_minor_);
}

}  // namespace avenor::host
