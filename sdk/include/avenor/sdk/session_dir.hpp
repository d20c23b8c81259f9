// The session directory a backend hands its agent (`--dir`), in one form for
// every plugin: absolute, normalized, without a trailing slash.
#pragma once

#include <filesystem>
#include <string>

namespace avenor::sdk {

// `dir` made absolute against the process's cwd ("" = the cwd itself).
inline std::string absolute_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::string s =
      fs::absolute(dir.empty() ? fs::path(".") : fs::path(dir)).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace avenor::sdk
