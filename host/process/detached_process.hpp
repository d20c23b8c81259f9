// A long-lived avenor process started by another one: a supervisor's runtime
// (`avenor run`, control.md §10.1) or the supervisor `avenor mcp` starts
// (§11.2). Started detached in its own process group with stdin and stdout on
// /dev/null, stderr appended to a file and a ready pipe; or re-adopted by pid
// after a supervisor restart. Either way its exit is observed through a pidfd
// on the supervisor's event loop, and the process outlives the supervisor if
// the supervisor dies (only an orderly shutdown ends runtimes).
#pragma once

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/unique_fd.hpp"

namespace avenor::host {

struct DetachedLaunch {
  std::string executable;  // what is exec'ed (argv[0] is only what the process sees)
  std::vector<std::string> argv;
  std::vector<std::string> env;  // full environment, without the ready fd variable
  std::filesystem::path stderr_file;
  std::string identity_token;  // AVENOR_CONTROL_IDENTITY_TOKEN
};

class DetachedProcess {
 public:
  // Exactly once, when the process has exited. `exit_code` is its status for
  // a child we started (1 when killed by a signal); nullopt for an adopted
  // process, whose status only its real parent can read.
  using ExitHandler = std::function<void(std::optional<int> exit_code, std::string description)>;

  // Forks and execs; throws std::system_error when the process cannot start.
  static std::unique_ptr<DetachedProcess> launch(boost::asio::io_context& io,
                                                 const DetachedLaunch& launch);
  // Watches a process started by an earlier supervisor; nullptr when it is
  // already gone.
  static std::unique_ptr<DetachedProcess> adopt(boost::asio::io_context& io, pid_t pid, pid_t pgid);

  DetachedProcess(boost::asio::io_context& io, pid_t pid, pid_t pgid, bool is_child, UniqueFd pidfd,
                  UniqueFd ready_read);
  DetachedProcess(const DetachedProcess&) = delete;
  DetachedProcess& operator=(const DetachedProcess&) = delete;
  ~DetachedProcess();

  pid_t pid() const { return pid_; }
  pid_t pgid() const { return pgid_; }
  bool exited() const { return exited_; }

  void on_exit(ExitHandler handler);
  // Completes with true once the ready byte arrived, false on EOF (the
  // process died first) or after `limit`.
  boost::asio::awaitable<bool> wait_ready(std::chrono::milliseconds limit);
  // Sends `signal` to the whole process group (the runtime and its backend).
  void signal_group(int signal) const;

 private:
  void watch_exit();
  void reap();

  boost::asio::io_context& io_;
  pid_t pid_;
  pid_t pgid_;
  bool is_child_;
  boost::asio::posix::stream_descriptor exit_watch_;
  boost::asio::posix::stream_descriptor ready_;
  ExitHandler on_exit_;
  bool exited_ = false;
  std::optional<int> exit_code_;
  std::string description_;
};

// This process's environment without the ready-fd and identity variables,
// which launch() sets for the new process itself.
std::vector<std::string> inherited_environment();

// "exit status 1", "signal: killed" — how a wait status reads in messages.
std::string describe_wait_status(int status);

}  // namespace avenor::host
