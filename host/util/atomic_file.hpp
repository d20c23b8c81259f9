// Crash-safe file replacement: readers see either the old file or the whole
// new one, never a partial write (sentinel, permission request/response).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>
#include <utility>

#include "util/unique_fd.hpp"

namespace avenor::host {

// A uniquely named file created next to its final destination (same directory,
// so publishing it is an atomic rename/link). Removed on destruction unless it
// was published by rename_to. All failures throw std::system_error whose
// what() reads "<operation> <path>: <OS message>".
class TempFile {
 public:
  // Creates `<dir>/<prefix>XXXXXX<suffix>` (mkstemps) with `mode` (not
  // subject to the umask). An empty dir means the current directory.
  static TempFile create(const std::filesystem::path& dir, std::string_view prefix,
                         std::string_view suffix, mode_t mode);

  TempFile(TempFile&& other) noexcept
      : path_(std::exchange(other.path_, {})),
        fd_(std::move(other.fd_)),
        published_(other.published_) {}
  TempFile& operator=(TempFile&&) = delete;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();

  const std::filesystem::path& path() const { return path_; }

  // Writes everything (retrying partial writes and EINTR), fsyncs, closes.
  void write_and_close(std::string_view content);
  // Atomically replaces `target` with this file; the temp name is gone after.
  // A target that exists and is not a regular file (FIFO, directory, device,
  // socket, symlink) is refused: std::system_error(FileProblem::not_regular),
  // what() "refusing to replace <target>: not a regular file".
  void rename_to(const std::filesystem::path& target);
  // Hard-links this file as `target`; fails with EEXIST when `target`
  // exists, which makes it a no-clobber publish (events.md §7.6, D7). The temp
  // file is still removed by the destructor.
  void link_to(const std::filesystem::path& target) const;

 private:
  TempFile(std::filesystem::path path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::filesystem::path path_;
  UniqueFd fd_;
  bool published_ = false;
};

// Writes `content` to `target` via a `<temp_prefix>XXXXXX.tmp` file in the
// target's directory (write, fsync, close, rename). The temp file is removed on
// any failure; a target that is not a regular file is never replaced (see
// rename_to). Throws std::system_error.
void write_file_atomically(const std::filesystem::path& target, std::string_view content,
                           std::string_view temp_prefix, mode_t mode);

// Writes all of `data` to `fd`, retrying partial writes and EINTR. Throws
// std::system_error(errno, what).
void write_all(int fd, std::string_view data, const std::string& what);

}  // namespace avenor::host
