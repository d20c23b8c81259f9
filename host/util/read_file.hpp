// Reading files: whole files with the errno of a failure kept, and files
// named from outside (policies, permission files, registries, cursors) read
// without ever blocking on a FIFO or reading a device without limit.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <system_error>

#include "util/unique_fd.hpp"

namespace avenor::host {

// The file's bytes. Throws std::system_error (generic category, errno) when it
// cannot be opened or read, what() "open <path>: <reason>" or "read <path>:
// <reason>"; reading a directory fails with EISDIR. Blocks on a FIFO and has
// no size limit: for files avenor itself controls; use read_regular_file for
// anything a user or another tool may have put there.
std::string read_file(const std::filesystem::path& path);

// Why a file was refused for what it is, not for an OS error (reading:
// read_regular_file; replacing: TempFile::rename_to).
enum class FileProblem { not_regular = 1, too_large };
const std::error_category& file_problem_category();
inline std::error_code make_error_code(FileProblem p) {
  return {static_cast<int>(p), file_problem_category()};
}

// A read_regular_file failure. code() is the errno (generic category) of a
// failed open/read, or a FileProblem; what() is a whole clause a caller
// can prefix with its context:
//   "open <path>: <reason>"  "read <path>: <reason>"
//   "<path> is not a regular file"  "<path> is larger than <max> bytes"
class FileReadError : public std::system_error {
 public:
  FileReadError(std::error_code code, std::string message)
      : std::system_error(code), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  bool missing() const { return code() == std::errc::no_such_file_or_directory; }

 private:
  std::string message_;
};

// What to do with a symbolic link at the path itself.
enum class Symlinks {
  follow,  // read what it points to (still a regular file only)
  refuse,  // a file avenor wrote itself is never a link: "<path> is not a regular file"
};

// Opens `path` for reading only if it is a regular file: stat first (a
// device is never opened), then open O_NONBLOCK (a FIFO swapped in meanwhile
// cannot block) and fstat the descriptor. Throws FileReadError.
UniqueFd open_regular_file(const std::filesystem::path& path, Symlinks symlinks = Symlinks::follow);

// The whole content of the regular file `path`, at most `max_bytes` (a file
// that is or grows larger fails rather than being cut). Never blocks on a
// FIFO, never reads a device. Throws FileReadError.
std::string read_regular_file(const std::filesystem::path& path, std::size_t max_bytes,
                              Symlinks symlinks = Symlinks::follow);

// The last `max` bytes of a regular file, read without following a symlink
// or blocking on a FIFO; empty when it is missing, not a regular file or
// unreadable (for files another process writes: sentinels, logs).
std::string read_regular_tail(const std::filesystem::path& path, off_t max);

}  // namespace avenor::host

template <>
struct std::is_error_code_enum<avenor::host::FileProblem> : std::true_type {};
