#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

#include "util/read_file.hpp"

namespace avenor::host {
namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

}  // namespace

void write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, what);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

TempFile TempFile::create(const std::filesystem::path& dir, std::string_view prefix,
                          std::string_view suffix, mode_t mode) {
  const std::filesystem::path base = dir.empty() ? std::filesystem::path(".") : dir;
  std::string pattern = (base / (std::string(prefix) + "XXXXXX")).string();
  pattern += suffix;
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  UniqueFd fd(::mkostemps(buf.data(), static_cast<int>(suffix.size()), O_CLOEXEC));
  if (!fd) throw_errno(errno, "create temp file " + pattern);
  TempFile file(std::filesystem::path(buf.data()), std::move(fd));
  // mkstemps always creates 0600; fchmod sets the caller's mode exactly.
  if (::fchmod(file.fd_.get(), mode) != 0) throw_errno(errno, "chmod " + file.path_.string());
  return file;
}

TempFile::~TempFile() {
  fd_.reset();
  // A moved-from TempFile has an empty path and owns nothing.
  if (!published_ && !path_.empty()) ::unlink(path_.c_str());
}

void TempFile::write_and_close(std::string_view content) {
  write_all(fd_.get(), content, "write " + path_.string());
  if (::fsync(fd_.get()) != 0) throw_errno(errno, "sync " + path_.string());
  if (::close(fd_.release()) != 0) throw_errno(errno, "close " + path_.string());
}

void TempFile::rename_to(const std::filesystem::path& target) {
  // Only a regular file may be replaced: a FIFO, directory, device or link
  // at the target is someone else's. lstat and rename cannot be one atomic
  // step; what appears in between is the doing of whoever swapped it in.
  struct stat st {};
  if (::lstat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw std::system_error(FileProblem::not_regular, "refusing to replace " + target.string());
  if (::rename(path_.c_str(), target.c_str()) != 0)
    throw_errno(errno, "rename " + path_.string() + " " + target.string());
  published_ = true;
}

void TempFile::link_to(const std::filesystem::path& target) const {
  if (::link(path_.c_str(), target.c_str()) != 0)
    throw_errno(errno, "link " + path_.string() + " " + target.string());
}

void write_file_atomically(const std::filesystem::path& target, std::string_view content,
                           std::string_view temp_prefix, mode_t mode) {
  TempFile temp = TempFile::create(target.parent_path(), temp_prefix, ".tmp", mode);
  temp.write_and_close(content);
  temp.rename_to(target);
}

}  // namespace avenor::host
