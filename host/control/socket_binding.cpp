#include "control/socket_binding.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "util/unique_fd.hpp"

namespace avenor::host {

namespace fs = std::filesystem;
using boost::asio::local::stream_protocol;

namespace {

std::string os_error(int err) { return std::generic_category().message(err); }

// mkdir -p with mode 0700 for every directory it creates; existing ones are
// left as they are.
void create_parent(const fs::path& dir) {
  if (dir.empty() || fs::exists(dir)) return;
  create_parent(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("create socket directory " + dir.string() + ": " + os_error(errno));
}

// An exclusive flock on `<P>.control.lock` for the lifetime of the object.
class PathLock {
 public:
  explicit PathLock(const fs::path& socket) {
    const std::string lock_path = socket.string() + ".control.lock";
    // O_NOFOLLOW: a link there must not make us create a file elsewhere;
    // O_NONBLOCK: a FIFO there must not block the open.
    fd_.reset(
        ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
    if (!fd_) {
      if (errno == ELOOP) throw std::runtime_error(lock_path + " is not a regular file");
      throw std::runtime_error("open " + lock_path + ": " + os_error(errno));
    }
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0 || !S_ISREG(st.st_mode))
      throw std::runtime_error(lock_path + " is not a regular file");
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw std::runtime_error("lock " + lock_path + ": " + os_error(errno));
    }
  }

 private:
  UniqueFd fd_;  // closing the fd releases the lock
};

// Dials an existing socket path with a 250 ms limit. Returns 0 when
// something accepted the connection, else the errno.
int probe(const fs::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path.string();
  if (p.size() >= sizeof(addr.sun_path)) return ENAMETOOLONG;
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return 0;
  if (errno != EINPROGRESS && errno != EAGAIN) return errno;
  pollfd pfd{fd.get(), POLLOUT, 0};
  int ready = ::poll(&pfd, 1, 250);
  if (ready == 0) return ETIMEDOUT;
  if (ready < 0) return errno;
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

}  // namespace

SocketBinding::SocketBinding(boost::asio::io_context& io, fs::path path)
    : path_(std::move(path)), acceptor_(io) {
  create_parent(path_.parent_path());
  PathLock lock(path_);

  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    // Only a stale socket may be replaced: a regular file, FIFO or symlink
    // at the path is someone's data (a FIFO even "refuses" connections).
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error("control socket path exists and is not a socket: " + path_.string());
    int err = probe(path_);
    if (err == 0) throw std::runtime_error("control socket already in use: " + path_.string());
    if (err != ECONNREFUSED)
      throw std::runtime_error("probe existing control socket " + path_.string() + ": " +
                               (err == ETIMEDOUT ? std::string("i/o timeout") : os_error(err)));
    // The path may have been swapped while the probe ran: unlink only the
    // very socket that refused.
    struct stat again {};
    if (::lstat(path_.c_str(), &again) == 0) {
      if (!S_ISSOCK(again.st_mode) || again.st_dev != st.st_dev || again.st_ino != st.st_ino)
        throw std::runtime_error("control socket path changed while probing: " + path_.string());
      if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
        throw std::runtime_error("remove stale control socket " + path_.string() + ": " +
                                 os_error(errno));
    }
  }

  boost::system::error_code ec;
  acceptor_.open(stream_protocol(), ec);
  if (ec) throw std::runtime_error("listen " + path_.string() + ": " + ec.message());
  // The socket file must never exist with looser permissions, not even
  // between bind and chmod. Nothing else runs concurrently at startup.
  mode_t old_mask = ::umask(077);
  acceptor_.bind(stream_protocol::endpoint(path_.string()), ec);
  ::umask(old_mask);
  if (ec) throw std::runtime_error("listen " + path_.string() + ": " + ec.message());
  if (::chmod(path_.c_str(), 0600) != 0)
    throw std::runtime_error("chmod " + path_.string() + ": " + os_error(errno));
  if (::stat(path_.c_str(), &st) != 0)
    throw std::runtime_error("stat " + path_.string() + ": " + os_error(errno));
  device_ = st.st_dev;
  inode_ = st.st_ino;
  acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::unlink(path_.c_str());
    throw std::runtime_error("listen " + path_.string() + ": " + ec.message());
  }
}

SocketBinding::~SocketBinding() { release(); }

void SocketBinding::release() {
  if (released_) return;
  released_ = true;
  try {
    PathLock lock(path_);
    struct stat st {};
    // A replacement that re-bound the path is not ours to remove.
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_)
      ::unlink(path_.c_str());
  } catch (const std::exception&) {
    // Without the lock the path cannot be inspected safely; leave it.
  }
  boost::system::error_code ec;
  acceptor_.close(ec);
}

}  // namespace avenor::host
