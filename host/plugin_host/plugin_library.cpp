#include "plugin_host/plugin_library.hpp"

#include <dlfcn.h>

#include <avenor/sdk/descriptor_check.hpp>
#include <cstddef>
#include <stdexcept>

namespace avenor::host {

namespace {

std::string text_or_empty(const char* s) { return s ? std::string(s) : std::string(); }

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
  sdk::check_descriptor(d);
  lib->name_ = d->plugin_name;
  lib->version_ = text_or_empty(d->plugin_version);
  lib->abi_major_ = d->abi_major;
  lib->abi_minor_ = d->abi_minor;
  lib->vtable_ = d->vtable;
  for (std::size_t i = 0; i < d->backend_count; ++i) {
    const avenor_backend_info& b = d->backends[i];
    lib->backends_.push_back(BackendInfo{b.name, text_or_empty(b.cli), b.capabilities,
                                         b.thinking_levels, text_or_empty(b.doctor_checks_json)});
  }
  return lib;
}

std::string PluginLibrary::abi_version() const {
  return std::to_string(abi_major_) + "." + std::to_string(abi_minor_);
}

}  // namespace avenor::host
