// Reading a whole file with the errno of a failure kept, so callers can say
// "read <path>: No such file or directory" in their own words.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace avenor::host {

// The file's bytes. Throws std::system_error (generic category, errno) when it
// cannot be opened or read, what() "open <path>: <reason>" or "read <path>:
// <reason>"; reading a directory fails with EISDIR.
std::string read_file(const std::filesystem::path& path);

// The last `max` bytes of a regular file, read without following a symlink
// or blocking on a FIFO; empty when it is missing, not a regular file or
// unreadable (for files another process writes: sentinels, logs).
std::string read_regular_tail(const std::filesystem::path& path, off_t max);

}  // namespace avenor::host
