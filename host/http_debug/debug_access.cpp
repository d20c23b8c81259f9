#include "http_debug/debug_access.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>
#include <utility>

#include "http_debug/http_debug_server.hpp"
#include "util/atomic_file.hpp"
#include "util/replaceable_path.hpp"

namespace avenor::host {

namespace {

// Why an existing `path` must not be replaced; empty when it may be (or
// does not exist): only a regular file of ours.
std::string replace_refusal_of(const std::filesystem::path& path) {
  if (auto refusal = replace_refusal(path)) return *refusal;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && st.st_uid != ::geteuid())
    return "refusing to replace " + path.string() + ": owned by another user";
  return {};
}

}  // namespace

std::string debug_url(const boost::asio::ip::tcp::endpoint& endpoint) {
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(endpoint.port());
}

DebugTokenFile DebugTokenFile::publish(const std::filesystem::path& path, std::string_view token) {
  if (path.empty()) throw std::runtime_error("empty token file path");
  if (std::string refusal = replace_refusal_of(path); !refusal.empty())
    throw std::runtime_error(refusal);
  try {
    TempFile temp =
        TempFile::create(path.parent_path(), "." + path.filename().string() + ".", ".tmp", 0600);
    temp.write_and_close(std::string(token) + "\n");
    struct stat st {};
    if (::lstat(temp.path().c_str(), &st) != 0)
      throw std::system_error(errno, std::generic_category(), "stat " + temp.path().string());
    // rename replaces a link itself, never its target, so a link that
    // appeared after the check above is not written through either.
    temp.rename_to(path);
    return DebugTokenFile(path, st.st_dev, st.st_ino);
  } catch (const std::system_error& e) {
    throw std::runtime_error(e.what());
  }
}

DebugTokenFile::DebugTokenFile(DebugTokenFile&& other) noexcept
    : path_(std::exchange(other.path_, {})), dev_(other.dev_), ino_(other.ino_) {}

DebugTokenFile& DebugTokenFile::operator=(DebugTokenFile&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, {});
    dev_ = other.dev_;
    ino_ = other.ino_;
  }
  return *this;
}

DebugTokenFile::~DebugTokenFile() { remove(); }

void DebugTokenFile::remove() noexcept {
  if (path_.empty()) return;
  struct stat st {};
  // Someone else's file at the path now (replaced meanwhile) stays.
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
    ::unlink(path_.c_str());
  path_.clear();
}

std::optional<DebugTokenFile> announce_debug_access(const HttpDebugServer& server,
                                                    const std::string& token_file, bool terminal,
                                                    std::ostream& err) {
  std::optional<DebugTokenFile> file;
  if (!token_file.empty()) file = DebugTokenFile::publish(token_file, server.token());
  err << "avenor: http debug listening on " << debug_url(server.local_endpoint()) << "\n";
  if (terminal) err << "avenor: http debug token: " << server.token() << "\n";
  err.flush();
  return file;
}

}  // namespace avenor::host
