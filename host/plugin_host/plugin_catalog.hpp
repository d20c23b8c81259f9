// Every backend plugin the host can find: the build's plugin folder, the
// install's plugin folder and AVENOR_PLUGIN_PATH. A broken plugin is recorded
// with its error and skipped; it never hides the other backends.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_host/plugin_library.hpp"

namespace avenor::host {

struct PluginLoadError {
  std::filesystem::path path;
  std::string message;
};

// A backend and the library that provides it.
struct BackendEntry {
  std::shared_ptr<PluginLibrary> library;
  BackendInfo info;
};

class PluginCatalog {
 public:
  // Folders searched, in order of precedence: AVENOR_PLUGIN_PATH entries, the
  // folder beside the executable (<prefix>/lib/avenor/plugins), the configured
  // install folder, then the build tree's plugin folder.
  static std::vector<std::filesystem::path> search_path();

  // Loads every *.so in `dirs`. A plugin name or backend name already provided
  // by an earlier folder is shadowed (the earlier one wins).
  static PluginCatalog discover(const std::vector<std::filesystem::path>& dirs);
  static PluginCatalog discover() { return discover(search_path()); }
  // discover(), stopping at the plugin that provides `backend`, for a
  // fraction of the start-up time (each plugin is a dlopen). Folders keep
  // their precedence, but within a folder `<backend>.so` is loaded first, so
  // usually it is the only one. find(backend) gives discover()'s answer unless
  // two files in one folder claim the same plugin or backend name. Without
  // such a plugin the catalog is complete.
  static PluginCatalog discover(const std::vector<std::filesystem::path>& dirs,
                                std::string_view backend);
  static PluginCatalog discover_for(std::string_view backend) {
    return discover(search_path(), backend);
  }

  const std::vector<std::shared_ptr<PluginLibrary>>& plugins() const { return plugins_; }
  const std::vector<PluginLoadError>& errors() const { return errors_; }
  std::optional<BackendEntry> find(std::string_view backend) const;
  std::vector<std::string> backend_names() const;

 private:
  std::vector<std::shared_ptr<PluginLibrary>> plugins_;
  std::vector<PluginLoadError> errors_;
};

}  // namespace avenor::host
