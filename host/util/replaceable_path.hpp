// The one rule for every path avenor replaces or deletes (sentinel,
// permission files, registry, tombstone, cursor, token file): only a regular
// file may go. A FIFO, directory, device, socket or symbolic link at such a
// path was put there by someone else, and replacing or unlinking it would
// destroy their data (or their pipe), so it is refused with a clear error.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace avenor::host {

// Why `path` must not be replaced: "refusing to replace <path>: not a regular
// file" (or the lstat error); nullopt when it is a regular file or absent.
std::optional<std::string> replace_refusal(const std::filesystem::path& path);

// Deletes `path` if it is a regular file; a missing path is fine. Anything
// else is left in place. Returns nullopt on success, else the reason:
// "refusing to remove <path>: not a regular file" or "remove <path>: <err>".
std::optional<std::string> remove_regular_file(const std::filesystem::path& path);

}  // namespace avenor::host
