// Claiming a control socket path safely (control.md §1, §10.17 rule 1):
// parent directory 0700 when created, an exclusive flock on
// `<P>.control.lock` around inspection and bind, a stale socket removed only
// after ECONNREFUSED, the socket bound under umask 077 and chmod'ed 0600,
// and at release the path unlinked only while it is still our inode.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>

namespace avenor::host {

class SocketBinding {
 public:
  // Binds and listens. Throws std::runtime_error with the spec's messages
  // (`control socket already in use: <P>`, `probe existing control socket
  // <P>: <err>`, or the failing OS call).
  SocketBinding(boost::asio::io_context& io, std::filesystem::path path);
  SocketBinding(const SocketBinding&) = delete;
  SocketBinding& operator=(const SocketBinding&) = delete;
  ~SocketBinding();

  boost::asio::local::stream_protocol::acceptor& acceptor() { return acceptor_; }
  const std::filesystem::path& path() const { return path_; }

  // Closes the listener and unlinks the path if it is still ours. Idempotent.
  void release();

 private:
  std::filesystem::path path_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  bool released_ = false;
};

}  // namespace avenor::host
