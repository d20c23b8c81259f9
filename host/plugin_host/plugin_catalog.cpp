#include "plugin_host/plugin_catalog.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <cstdlib>
#include <optional>
#include <set>
#include <system_error>

namespace avenor::host {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> split_path_list(const char* value) {
  std::vector<fs::path> out;
  if (!value) return out;
  std::string_view rest(value);
  while (!rest.empty()) {
    auto colon = rest.find(':');
    auto part = rest.substr(0, colon);
    if (!part.empty()) out.emplace_back(part);
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return out;
}

std::vector<fs::path> plugin_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".so" && entry.is_regular_file(ec)) files.push_back(entry);
  }
  std::sort(files.begin(), files.end());  // deterministic order
  return files;
}

// Moves `<backend>.so` to the front: a plugin is built as <its name>.so and
// in-tree plugins are named after their backend, so `run` usually dlopens
// this one file instead of every plugin sorting before it (issue 15).
void prefer_named(std::vector<fs::path>& files, std::string_view backend) {
  if (backend.empty()) return;
  const auto named = std::find_if(files.begin(), files.end(),
                                  [&](const fs::path& f) { return f.stem() == fs::path(backend); });
  if (named != files.end()) std::rotate(files.begin(), named, named + 1);
}

// A folder's identity: the same folder reached by two spellings (a symlink,
// a `..`) has one. One stat, where canonicalising costs a readlink and a stat
// per path component, on every `run`'s path to its backend (issue 15).
struct FolderId {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator<(const FolderId& o) const {
    return device != o.device ? device < o.device : inode < o.inode;
  }
  bool operator==(const FolderId&) const = default;
};

std::optional<FolderId> folder_id(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  return FolderId{st.st_dev, st.st_ino};
}

// Whether `file` lies somewhere under the folder `dir`.
bool inside(const fs::path& file, const fs::path& dir) {
  const std::optional<FolderId> target = folder_id(dir);
  if (!target || !file.is_absolute()) return false;
  for (fs::path p = file.parent_path();; p = p.parent_path()) {
    if (folder_id(p) == target) return true;
    if (p == p.parent_path()) return false;
  }
}

}  // namespace

std::vector<fs::path> PluginCatalog::search_path() {
  std::vector<fs::path> dirs = split_path_list(std::getenv("AVENOR_PLUGIN_PATH"));
  boost::dll::fs::error_code ec;
  fs::path exe = boost::dll::program_location(ec);
  // <prefix>/bin/avenor finds <prefix>/<libdir>/avenor/plugins wherever the
  // prefix was unpacked.
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / AVENOR_INSTALL_PLUGIN_RELDIR);
  dirs.emplace_back(AVENOR_INSTALL_PLUGIN_DIR);
  // This build's plugins, for a binary that still runs from its build tree; a
  // packaged or installed copy of the same binary never looks there.
  if (!ec && inside(exe, AVENOR_BUILD_TREE)) dirs.emplace_back(AVENOR_BUILD_PLUGIN_DIR);
  // The same folder reached twice is read once; a missing one not at all.
  std::vector<fs::path> unique;
  std::set<FolderId> seen;
  for (auto& d : dirs) {
    if (const std::optional<FolderId> id = folder_id(d); id && seen.insert(*id).second)
      unique.push_back(d);
  }
  return unique;
}

PluginCatalog PluginCatalog::discover(const std::vector<fs::path>& dirs) {
  return discover(dirs, {});
}

PluginCatalog PluginCatalog::discover(const std::vector<fs::path>& dirs, std::string_view backend) {
  PluginCatalog catalog;
  std::set<std::string> plugin_names, backend_names;
  for (const auto& dir : dirs) {
    std::vector<fs::path> files = plugin_files(dir);
    prefer_named(files, backend);
    for (const auto& file : files) {
      std::shared_ptr<PluginLibrary> lib;
      try {
        lib = PluginLibrary::load(file);
      } catch (const std::exception& e) {
        catalog.errors_.push_back({file, e.what()});
        continue;
      }
      if (!plugin_names.insert(lib->name()).second) continue;  // shadowed by an earlier folder
      bool provides_new = false;
      for (const auto& b : lib->backends()) provides_new |= backend_names.insert(b.name).second;
      if (provides_new) catalog.plugins_.push_back(std::move(lib));
      // Earlier plugins win, so nothing found later could change find(backend).
      if (!backend.empty() && catalog.find(backend)) return catalog;
    }
  }
  return catalog;
}

std::optional<BackendEntry> PluginCatalog::find(std::string_view backend) const {
  for (const auto& lib : plugins_)
    for (const auto& b : lib->backends())
      if (b.name == backend) return BackendEntry{lib, b};
  return std::nullopt;
}

std::vector<std::string> PluginCatalog::backend_names() const {
  std::vector<std::string> names;
  for (const auto& lib : plugins_)
    for (const auto& b : lib->backends()) names.push_back(b.name);
  return names;
}

}  // namespace avenor::host
