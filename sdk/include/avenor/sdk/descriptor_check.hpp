// What a host accepts of a plugin's descriptor, and what it may call: one
// definition for avenor's host (plugin_host/plugin_library.cpp) and the SDK's
// plugin driver (testing/plugin_driver.hpp), so both refuse the same plugins
// with the same words.
#pragma once

#include <avenor/abi/plugin_abi.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace avenor::sdk {

// A 1.0 vtable ends before on_call_data; minors only append, so a plugin
// built against 1.0 still loads, and the host calls no member it lacks.
inline constexpr std::uint32_t kAbi10VtableSize = offsetof(avenor_plugin_vtable, on_call_data);

// "1.x (up to 1.<minor>)": the ABI this header describes.
inline std::string supported_abi() {
  return std::to_string(AVENOR_ABI_MAJOR) + ".x (up to " + std::to_string(AVENOR_ABI_MAJOR) + "." +
         std::to_string(AVENOR_ABI_MINOR) + ")";
}

// Throws std::runtime_error with the host's one-line refusal when the
// descriptor cannot be used: none, another major, tables shorter than 1.0's,
// no plugin name, a backend without a name.
inline void check_descriptor(const avenor_plugin_descriptor* d) {
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
  for (std::size_t i = 0; i < d->backend_count; ++i) {
    if (!d->backends[i].name || !*d->backends[i].name)
      throw std::runtime_error("plugin declares a backend without a name");
  }
}

// Whether the plugin takes service results (its vtable has the 1.1 members).
inline bool takes_service_results(const avenor_plugin_vtable& v) {
  return v.struct_size >= offsetof(avenor_plugin_vtable, on_call_result) + sizeof(void*) &&
         v.on_call_data && v.on_call_result;
}

}  // namespace avenor::sdk
