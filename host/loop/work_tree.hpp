// What the loop runner reads from the work dir's git for its templates
// (events.md §9.2): HEAD after every phase, and what changed since.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <vector>

namespace avenor::host {

class WorkTree {
 public:
  virtual ~WorkTree() = default;
  // The commit HEAD points at; empty outside git or when git fails.
  virtual boost::asio::awaitable<std::string> head() = 0;
  // `git diff --stat <since>` / `git diff --name-only <since>`, trailing
  // newlines trimmed; empty when `since` is empty or git fails.
  virtual boost::asio::awaitable<std::string> diff_stat(std::string since) = 0;
  virtual boost::asio::awaitable<std::string> changed_files(std::string since) = 0;
};

// Runs git as a child process on the event loop (never blocking it).
class GitWorkTree : public WorkTree {
 public:
  GitWorkTree(boost::asio::io_context& io, std::string dir) : io_(io), dir_(std::move(dir)) {}

  boost::asio::awaitable<std::string> head() override;
  boost::asio::awaitable<std::string> diff_stat(std::string since) override;
  boost::asio::awaitable<std::string> changed_files(std::string since) override;

 private:
  // stdout of `git -C <dir> <args>`, or nullopt when it cannot start, fails or hangs.
  boost::asio::awaitable<std::optional<std::string>> git(std::vector<std::string> args);

  boost::asio::io_context& io_;
  std::string dir_;
};

}  // namespace avenor::host
