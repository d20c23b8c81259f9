#include "util/replaceable_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace avenor::host {
namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

std::string refusal(std::string_view verb, const std::filesystem::path& path) {
  return "refusing to " + std::string(verb) + " " + path.string() + ": not a regular file";
}

}  // namespace

std::optional<std::string> replace_refusal(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return "stat " + path.string() + ": " + errno_text(errno);
  }
  if (S_ISREG(st.st_mode)) return std::nullopt;
  return refusal("replace", path);
}

std::optional<std::string> remove_regular_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return "remove " + path.string() + ": " + errno_text(errno);
  }
  if (!S_ISREG(st.st_mode)) return refusal("remove", path);
  // A swap between lstat and unlink could only put a new entry of the
  // swapper's own making here; there is no unlinkat-by-inode to close it.
  if (::unlink(path.c_str()) == 0 || errno == ENOENT) return std::nullopt;
  return "remove " + path.string() + ": " + errno_text(errno);
}

}  // namespace avenor::host
