// Small helpers the benchmarks share: files, a scratch directory, an owned fd,
// the children's environment, medians.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

extern char** environ;

namespace avenor::bench {

namespace fs = std::filesystem;

[[noreturn]] inline void fail_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// --avenor and --fake-agent, which every benchmark takes: both required and
// executable; made absolute in place. Returns what is wrong, "" when nothing.
inline std::string resolve_binaries(std::string& avenor, std::string& fake_agent) {
  if (avenor.empty()) return "--avenor is required";
  if (fake_agent.empty()) return "--fake-agent is required";
  for (std::string* p : {&avenor, &fake_agent}) {
    if (::access(p->c_str(), X_OK) != 0) return *p + " is not an executable file";
    *p = fs::absolute(*p).string();
  }
  return "";
}

inline void write_file(const fs::path& path, std::string_view text, bool executable = false) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out.close();
  if (executable)
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The stderr a child left behind, for error messages.
inline std::string tail_of(const fs::path& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const std::exception&) {
    return "";
  }
  if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
  return text;
}

// A scratch directory under /tmp (short enough for a socket path), removed at the end.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/avenor-bench-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) fail_errno("mkdtemp");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// The bench's environment with some variables replaced (or added), for a child;
// FAKE_ACP_RECORD is dropped because recording would slow the fake agent down.
inline std::vector<std::string> environment_with(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    if (name == "FAKE_ACP_RECORD") continue;
    bool replaced = false;
    for (const auto& [key, value] : overrides) replaced = replaced || name == key;
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [key, value] : overrides) env.push_back(key + "=" + value);
  return env;
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace avenor::bench
