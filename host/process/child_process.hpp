// A backend subprocess driven from the event loop: stdin writes, stdout
// chunks, a bounded stderr tail, and exactly one "closed" notification.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace avenor::host {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in avenor's own PATH (like Go's exec)
  std::vector<std::string> env;   // the child's full environment, KEY=VALUE
  std::string cwd;                // empty = inherit avenor's
  // close(): how long to wait for the child to exit on stdin EOF before
  // SIGTERM. Some agents save their session only on a clean EOF exit.
  std::chrono::milliseconds eof_grace{0};
};

struct ChildHandlers {
  // Raw stdout bytes in order, as they arrive (not split into lines).
  std::function<void(std::string_view)> on_stdout;
  // Exactly once, after stdout EOF and process exit, or after a kill.
  // "process exited", "process exited with status N" or "process killed by
  // signal S", plus ": <stderr tail>" when the child wrote to stderr; after
  // kill_now the reason given there (e.g. the 4 MiB line limit).
  std::function<void(std::string reason)> on_closed;
};

// The child runs in its own process group (signals reach its helpers too),
// with stdin/stdout/stderr pipes; stderr is only kept in a ring buffer.
// Exit is observed through a pidfd, so there is no SIGCHLD handler and no
// waitpid(-1): nothing else in the process may reap this pid.
//
// Callbacks run on the io_context thread and may call any member, including
// destroying the ChildProcess (pending callbacks are then dropped).
class ChildProcess {
 public:
  static constexpr std::size_t kMaxLineBytes = std::size_t{4} << 20;
  static constexpr std::size_t kStderrTailBytes = std::size_t{16} << 10;
  static constexpr std::size_t kReasonTailBytes = std::size_t{2} << 10;
  static constexpr std::chrono::seconds kTermGrace{2};
  static constexpr const char* kLineLimitReason = "backend output line exceeds the 4 MiB limit";

  // Starts the child. Throws std::system_error "start <argv0>: <err>" when it
  // cannot be started, including exec failures (ENOENT, EACCES) and a bad cwd
  // ("start <argv0>: chdir <cwd>: <err>").
  static std::unique_ptr<ChildProcess> spawn(boost::asio::io_context& io, ChildSpec spec,
                                             ChildHandlers handlers);

  // Only spawn() can make the Key; public so std::make_unique can construct.
  struct Key {
    explicit Key() = default;
  };
  struct State;
  ChildProcess(Key, std::shared_ptr<State> state) : state_(std::move(state)) {}

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // A still-running child's process group is SIGKILLed and the child reaped
  // here (blocking briefly), so no zombie outlives the owner.
  ~ChildProcess();

  pid_t pid() const;

  // Queues bytes for stdin; written asynchronously in order. After a write
  // error (EPIPE: the child stopped reading) further writes are dropped; the
  // child's fate is reported through on_closed.
  void write(std::string bytes);

  // Closes stdin once the queued writes are written (the child sees EOF).
  void finish_input();

  // After the child was reaped: its exit code, or nullopt when a signal
  // ended it (then exit_signal() names the signal; 0 otherwise).
  std::optional<int> exit_code() const;
  int exit_signal() const;

  // SIGKILLs the process group now; on_closed(reason) follows.
  void kill_now(std::string reason);

  // Closes stdin, waits up to the spec's eof_grace for an exit, then SIGTERMs
  // the process group and SIGKILLs it after kTermGrace,
  // and calls done() once the child is reaped and on_closed has run (at once,
  // via post, if that already happened). May be called more than once.
  void close(std::function<void()> done);

  // The last kStderrTailBytes of the child's stderr.
  std::string stderr_tail() const;

  // False once the child has been reaped.
  bool running() const;
  // The first stdin write error (empty if none).
  std::error_code write_error() const;

 private:
  // Shared with in-flight asio handlers so they never touch freed memory.
  std::shared_ptr<State> state_;
};

}  // namespace avenor::host
