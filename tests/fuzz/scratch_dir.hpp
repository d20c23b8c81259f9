// One private scratch folder per fuzzing process. On exit it removes only the
// files the target created (names starting with `owned_prefix`), then the
// folder itself if that left it empty: never anything it did not make.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace avenor::fuzz {

class ScratchDir {
 public:
  ScratchDir(std::string_view stem, std::string owned_prefix)
      : owned_prefix_(std::move(owned_prefix)) {
    namespace fs = std::filesystem;
    std::string pattern = (fs::temp_directory_path() / (std::string(stem) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScratchDir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(path_, ec))
      if (entry.path().filename().string().starts_with(owned_prefix_)) fs::remove(entry.path(), ec);
    fs::remove(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::string owned_prefix_;
  std::filesystem::path path_;
};

}  // namespace avenor::fuzz
