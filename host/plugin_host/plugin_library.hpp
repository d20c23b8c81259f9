// One loaded plugin file: the shared library kept alive for as long as its
// descriptor is used, checked against the ABI the host speaks.
#pragma once

#include <avenor/abi/plugin_abi.h>

#include <boost/dll/shared_library.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace avenor::host {

// A backend as a plugin describes it, copied out of the C descriptor.
struct BackendInfo {
  std::string name;
  std::string cli;  // empty when the backend needs no executable
  std::uint32_t capabilities = 0;
  std::uint32_t thinking_levels = 0;
  std::string doctor_checks_json;

  bool has(avenor_capability cap) const { return (capabilities & cap) != 0; }
};

class PluginLibrary {
 public:
  // Loads `path` and validates its descriptor. Throws std::runtime_error with a
  // one-line reason (load error, missing entry symbol, incompatible ABI).
  static std::shared_ptr<PluginLibrary> load(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  std::string abi_version() const;
  const std::vector<BackendInfo>& backends() const { return backends_; }
  const avenor_plugin_vtable& vtable() const { return *vtable_; }

 private:
  struct Key {};  // only load() constructs

 public:
  explicit PluginLibrary(Key) {}

 private:
  boost::dll::shared_library library_;
  std::filesystem::path path_;
  std::string name_, version_;
  std::uint32_t abi_major_ = 0, abi_minor_ = 0;
  std::vector<BackendInfo> backends_;
  const avenor_plugin_vtable* vtable_ = nullptr;
};

}  // namespace avenor::host
