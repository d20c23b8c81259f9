// How a client reaches the HTTP debug adapter (control.md §9): where it
// listens, reported on stderr always, and its token, printed only to a
// terminal or written to a 0600 file (`--http-debug-token-file`, new) so a
// non-interactive client can read it without the token ever reaching a log.
#pragma once

#include <sys/types.h>

#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace avenor::host {

class HttpDebugServer;

// "http://127.0.0.1:8080", "http://[::1]:8080".
std::string debug_url(const boost::asio::ip::tcp::endpoint& endpoint);

// The token as a file: `<token>\n`, mode 0600, published whole (a fresh
// O_EXCL temp file in the same directory, renamed over the path), so a
// reader sees the complete token or no file. An existing path must be a
// regular file owned by this user: a symlink, directory, FIFO, socket or
// another user's file is refused and left untouched (nothing is written
// through a link). The file is removed again when this object goes, if it
// is still the one published: the token dies with the process.
class DebugTokenFile {
 public:
  // Throws std::runtime_error with a one-line reason.
  static DebugTokenFile publish(const std::filesystem::path& path, std::string_view token);

  DebugTokenFile(DebugTokenFile&& other) noexcept;
  DebugTokenFile& operator=(DebugTokenFile&& other) noexcept;
  DebugTokenFile(const DebugTokenFile&) = delete;
  DebugTokenFile& operator=(const DebugTokenFile&) = delete;
  ~DebugTokenFile();

  const std::filesystem::path& path() const { return path_; }

 private:
  DebugTokenFile(std::filesystem::path path, dev_t dev, ino_t ino)
      : path_(std::move(path)), dev_(dev), ino_(ino) {}
  void remove() noexcept;

  std::filesystem::path path_;  // empty once moved from
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// After a successful start: writes the token file when `token_file` is set
// (before anything is announced, so a client that waits for the address
// finds the token), then prints `avenor: http debug listening on <url>` and,
// only when `terminal`, `avenor: http debug token: <token>`. Throws
// std::runtime_error when the token file cannot be written.
std::optional<DebugTokenFile> announce_debug_access(const HttpDebugServer& server,
                                                    const std::string& token_file, bool terminal,
                                                    std::ostream& err);

}  // namespace avenor::host
