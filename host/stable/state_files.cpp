#include "stable/state_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <system_error>

#include "util/atomic_file.hpp"
#include "util/replaceable_path.hpp"
#include "util/sha256.hpp"
#include "util/unique_fd.hpp"

namespace avenor::host {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Makes `dir` (which exists or was just made) a real directory owned by us
// with mode 0700, through an fd so a swapped-in symlink cannot redirect it.
void secure_directory(const fs::path& dir, const std::string& what) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      throw std::runtime_error(what + " " + dir.string() + " is a symbolic link");
    if (err == ENOTDIR) throw std::runtime_error(what + " " + dir.string() + " is not a directory");
    throw std::runtime_error("open " + what + " " + dir.string() + ": " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw std::runtime_error("stat " + what + " " + dir.string() + ": " + errno_text(errno));
  if (st.st_uid != ::geteuid())
    throw std::runtime_error(what + " " + dir.string() + " is owned by uid " +
                             std::to_string(st.st_uid) + ", not by this user (uid " +
                             std::to_string(::geteuid()) + ")");
  if ((st.st_mode & 07777) != 0700 && ::fchmod(fd.get(), 0700) != 0)
    throw std::runtime_error("chmod " + what + " " + dir.string() + ": " + errno_text(errno));
}

// mkdir with 0700; an existing entry is left for secure_directory to judge.
void make_directory(const fs::path& dir, const std::string& what) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("create " + what + " " + dir.string() + ": " + errno_text(errno));
}

std::string rfc3339_utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

fs::path tombstone_path(const fs::path& socket_path) {
  fs::path p = socket_path;
  p += ".dead";
  return p;
}

}  // namespace

fs::path default_state_dir(const fs::path& socket_path) {
  std::string absolute = fs::absolute(socket_path).lexically_normal().string();
  // lexically_normal keeps a trailing separator ("/a/b/" → "/a/b/"); a path
  // names the same socket with or without it.
  while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
  const char* tmpdir = std::getenv("TMPDIR");
  fs::path base = tmpdir != nullptr && *tmpdir != '\0' ? fs::path(tmpdir) : fs::path("/tmp");
  return base / "avenor-stable" / sha256_hex(absolute).substr(0, 16);
}

void prepare_state_dir(const fs::path& dir) {
  if (dir.empty()) throw std::runtime_error("state directory: empty path");
  const fs::path target = dir.lexically_normal();
  // Missing ancestors, outermost first, each created 0700; existing ones are
  // left as they are (they may be shared, like $TMPDIR).
  fs::path partial;
  fs::path parent =
      target.has_filename() ? target.parent_path() : target.parent_path().parent_path();
  for (const auto& part : parent) {
    partial /= part;
    struct stat st {};
    if (::lstat(partial.c_str(), &st) == 0) continue;
    if (errno != ENOENT)
      throw std::runtime_error("stat " + partial.string() + ": " + errno_text(errno));
    make_directory(partial, "directory");
  }
  make_directory(target, "state directory");
  secure_directory(target, "state directory");
}

fs::path prepare_runtime_dir(const fs::path& state_dir, const std::string& runtime_id) {
  if (runtime_id.empty() || runtime_id == "." || runtime_id == ".." ||
      runtime_id.find('/') != std::string::npos || runtime_id.find('\0') != std::string::npos)
    throw std::runtime_error("invalid runtime id \"" + runtime_id + "\"");
  fs::path dir = state_dir / runtime_id;
  make_directory(dir, "runtime directory");
  secure_directory(dir, "runtime directory");
  return dir;
}

bool write_tombstone(const fs::path& socket_path, std::string_view reason, std::ostream& err) {
  const fs::path path = tombstone_path(socket_path);
  std::string content = "STOPPED reason=" + std::string(reason) +
                        " pid=" + std::to_string(::getpid()) + " at=" + rfc3339_utc_now() + "\n";
  try {
    write_file_atomically(path, content, ".tombstone-", 0644);
    return true;
  } catch (const std::exception& e) {
    err << "avenor stable: write tombstone " << path.string() << ": " << e.what() << "\n";
    return false;
  }
}

void remove_tombstone(const fs::path& socket_path) {
  (void)remove_regular_file(tombstone_path(socket_path));
}

}  // namespace avenor::host
