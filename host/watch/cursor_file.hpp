// The `--since-cursor` file (events.md §8.7): a decimal byte offset and '\n'.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace avenor::host::watch {

struct CursorRead {
  std::int64_t offset = 0;
  std::string error;  // non-empty: the diagnostic (without the "avenor watch: " prefix)
  bool ok() const { return error.empty(); }
};

// Reads the saved offset; a missing file means 0. Trailing '\n' are
// stripped and the rest must be a base-10 int64 that is not negative. Only a
// regular file (not a link) of at most 4 KiB is read: "read cursor file
// <path>: not a regular file" / ": file too large".
CursorRead read_cursor(const std::filesystem::path& path);

// Parses cursor file content (what read_cursor does after reading).
CursorRead parse_cursor(std::string_view content, const std::filesystem::path& path);

// An offset beyond the log's size means the log was truncated or rotated:
// "log <basename> shorter than cursor (offset X > size Y) (cursor <path>)";
// "" when the offset is usable (equal to the size is fine).
std::string check_cursor_against_log(std::int64_t offset, std::int64_t log_size,
                                     const std::filesystem::path& log_path,
                                     const std::filesystem::path& cursor_path);

// Writes "<offset>\n" to `<path>.tmp` (mode 0644) and renames it over
// `path`; the temp file is removed on failure. Neither `path` nor the temp
// name is touched when it is something other than a regular file. No fsync: the cursor is a
// resumption hint, not data. Returns "" or the diagnostic.
std::string write_cursor(const std::filesystem::path& path, std::int64_t offset);

}  // namespace avenor::host::watch
