#include "util/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace avenor::host {
namespace {

class FileProblemCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "avenor.file"; }
  std::string message(int value) const override {
    switch (static_cast<FileProblem>(value)) {
      case FileProblem::not_regular:
        return "not a regular file";
      case FileProblem::too_large:
        return "file too large";
    }
    return "unknown file problem";
  }
};

std::string errno_text(int err) { return std::generic_category().message(err); }

[[noreturn]] void fail_errno(int err, const std::string& operation,
                             const std::filesystem::path& path) {
  throw FileReadError(std::error_code(err, std::generic_category()),
                      operation + " " + path.string() + ": " + errno_text(err));
}

[[noreturn]] void fail_not_regular(const std::filesystem::path& path) {
  throw FileReadError(FileProblem::not_regular, path.string() + " is not a regular file");
}

}  // namespace

const std::error_category& file_problem_category() {
  static const FileProblemCategory category;
  return category;
}

std::string read_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  std::string content;
  std::array<char, 8192> buf{};
  while (true) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n == 0) return content;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "read " + path.string());
    }
    content.append(buf.data(), static_cast<std::size_t>(n));
  }
}

UniqueFd open_regular_file(const std::filesystem::path& path, Symlinks symlinks) {
  const bool follow = symlinks == Symlinks::follow;
  // Checking the path first means a device (whose open alone may act, like a
  // tape rewinding) is never opened; the fstat below covers a swap after it.
  struct stat st {};
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0)
    fail_errno(errno, "open", path);
  if (!S_ISREG(st.st_mode)) fail_not_regular(path);
  UniqueFd fd(::open(path.c_str(),
                     O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)));
  if (!fd) {
    if (errno == ELOOP && !follow) fail_not_regular(path);  // a link swapped in
    fail_errno(errno, "open", path);
  }
  if (::fstat(fd.get(), &st) != 0) fail_errno(errno, "stat", path);
  if (!S_ISREG(st.st_mode)) fail_not_regular(path);
  return fd;
}

std::string read_regular_file(const std::filesystem::path& path, std::size_t max_bytes,
                              Symlinks symlinks) {
  UniqueFd fd = open_regular_file(path, symlinks);
  auto too_large = [&] {
    throw FileReadError(FileProblem::too_large,
                        path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
  };
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && static_cast<std::uintmax_t>(st.st_size) > max_bytes)
    too_large();
  std::string content;
  std::array<char, 64 * 1024> buf{};
  while (true) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n == 0) return content;
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(errno, "read", path);
    }
    // It may have grown since the fstat: the cap holds for what is read.
    if (static_cast<std::size_t>(n) > max_bytes - content.size()) too_large();
    content.append(buf.data(), static_cast<std::size_t>(n));
  }
}

std::string read_regular_tail(const std::filesystem::path& path, off_t max) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return {};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  const off_t start = std::max<off_t>(0, st.st_size - max);
  std::string data(static_cast<std::size_t>(st.st_size - start), '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    ssize_t n =
        ::pread(fd.get(), data.data() + got, data.size() - got, start + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  data.resize(got);
  return data;
}

}  // namespace avenor::host
