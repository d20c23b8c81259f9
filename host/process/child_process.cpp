#include "process/child_process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <optional>
#include <utility>

#include "process/group_guardian.hpp"
#include "util/unique_fd.hpp"

namespace avenor::host {
namespace {

namespace asio = boost::asio;

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

// Pipe ends handed to the child must not be fds 0-2, or the dup2 calls that
// install stdin/stdout/stderr could overwrite one another.
UniqueFd above_stdio(UniqueFd fd) {
  if (fd.get() > 2) return fd;
  UniqueFd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
  if (!moved) throw_errno(errno, "dup");
  return moved;
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw_errno(errno, "pipe");
  return Pipe{above_stdio(UniqueFd(fds[0])), above_stdio(UniqueFd(fds[1]))};
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

// Go's exec.LookPath: a name with a slash is used as is; otherwise the
// first executable match in avenor's PATH (an empty entry means ".").
std::optional<std::string> resolve_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path_env = std::getenv("PATH");
  const std::string path = path_env != nullptr ? path_env : "";
  std::size_t start = 0;
  while (true) {
    const std::size_t end = path.find(':', start);
    std::string dir =
        path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    if (end == std::string::npos) return std::nullopt;
    start = end + 1;
  }
}

// What the child reports through the CLOEXEC error pipe before _exit.
struct ExecFailure {
  int stage;  // kStage*
  int error;  // errno
};
constexpr int kStageSetup = 0;
constexpr int kStageChdir = 1;
constexpr int kStageExec = 2;

// What the child needs, prepared before the clone: the child shares our
// memory and must not allocate.
struct ExecArgs {
  const char* path;
  char* const* argv;
  char* const* envp;
  const char* cwd;
  int in_fd;
  int out_fd;
  int err_fd;
  int report_fd;
  pid_t parent;
};

// Runs in the child, which shares avenor's memory until execve (CLONE_VM |
// CLONE_VFORK, avenor waits): async-signal-safe calls only, no allocation,
// and no avenor signal handler may run here.
[[noreturn]] void exec_child(const ExecArgs& a) {
  const int report_fd = a.report_fd;
  auto fail = [report_fd](int stage) {
    const ExecFailure f{stage, errno};
    [[maybe_unused]] ssize_t n = ::write(report_fd, &f, sizeof f);
    ::_exit(127);
  };
  // Every signal is blocked (spawn() did it). A handler of avenor's would run
  // on avenor's memory, so handled signals go back to their default action
  // before they are unblocked; exec would reset them anyway.
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction action {};
    if (::sigaction(sig, nullptr, &action) != 0 || action.sa_handler == SIG_DFL ||
        action.sa_handler == SIG_IGN)
      continue;
    action = {};
    action.sa_handler = SIG_DFL;
    ::sigaction(sig, &action, nullptr);
  }
  if (::setpgid(0, 0) != 0) fail(kStageSetup);
  // A backend that ignores stdin EOF must not outlive a SIGKILLed avenor.
  // The signal follows the forking thread, which is the one event-loop
  // thread that lives as long as avenor. It survives exec. SIGTERM, not
  // SIGKILL: a backend that cleans up on SIGTERM (the claude-channel
  // guardian removes its tmux session) gets to; the group guardian sends
  // SIGKILL after the same grace the host gives on an orderly stop.
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) fail(kStageSetup);
  if (::getppid() != a.parent) ::_exit(127);  // avenor died before the prctl
  // The host ignores SIGPIPE and that disposition would survive exec.
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(a.in_fd, 0) < 0 || ::dup2(a.out_fd, 1) < 0 || ::dup2(a.err_fd, 2) < 0)
    fail(kStageSetup);
  // Descriptors some library opened without O_CLOEXEC must not leak into the
  // backend (they would keep sockets and pipes alive).
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (a.cwd != nullptr && ::chdir(a.cwd) != 0) fail(kStageChdir);
  ::execve(a.path, a.argv, a.envp);
  fail(kStageExec);
  ::_exit(127);
}

int exec_child_entry(void* args) { exec_child(*static_cast<const ExecArgs*>(args)); }

// Starts the child like vfork: it borrows our memory and page tables until
// execve, so avenor's address space is never copied (a fork costs a
// page-table copy plus a copy-on-write fault for every page touched after,
// a large part of a run's fixed cost; issue 15). Returns the pid or -1.
pid_t clone_and_exec(const ExecArgs& args) {
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  // The child runs on its own stack while we are suspended; execve needs little.
  // Not zeroed: the child touches only its top pages (no memset, no faults).
  alignas(16) std::array<char, 64 * 1024> stack;
  const pid_t pid = ::clone(&exec_child_entry, stack.data() + stack.size(),
                            CLONE_VM | CLONE_VFORK | SIGCHLD, const_cast<ExecArgs*>(&args));
  const int saved = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return pid;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void reap_blocking(pid_t pid, int* status = nullptr) {
  int ignored = 0;
  while (::waitpid(pid, status != nullptr ? status : &ignored, 0) < 0 && errno == EINTR) {
  }
}

std::string trim(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// The last `max` bytes of `text`, not starting inside a UTF-8 sequence.
std::string_view utf8_tail(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  text.remove_prefix(text.size() - max);
  while (!text.empty() && (static_cast<unsigned char>(text.front()) & 0xC0) == 0x80)
    text.remove_prefix(1);
  return text;
}

}  // namespace

struct ChildProcess::State : std::enable_shared_from_this<State> {
  State(asio::io_context& io, pid_t child, ChildHandlers h, UniqueFd in, UniqueFd out, UniqueFd err,
        UniqueFd pidfd)
      : io(io),
        pid(child),
        handlers(std::move(h)),
        stdin_pipe(io),
        stdout_pipe(io),
        stderr_pipe(io),
        exit_watch(io),
        term_timer(io),
        grace_timer(io) {
    // Ownership moves to asio only once assign() succeeded, so a throwing
    // assign leaves the fd with its UniqueFd.
    adopt(stdin_pipe, in);
    adopt(stdout_pipe, out);
    adopt(stderr_pipe, err);
    adopt(exit_watch, pidfd);
  }

  static void adopt(asio::posix::stream_descriptor& d, UniqueFd& fd) {
    d.assign(fd.get());
    (void)fd.release();
  }

  asio::io_context& io;
  pid_t pid;
  ChildHandlers handlers;
  asio::posix::stream_descriptor stdin_pipe;
  asio::posix::stream_descriptor stdout_pipe;
  asio::posix::stream_descriptor stderr_pipe;
  asio::posix::stream_descriptor exit_watch;  // the pidfd
  asio::steady_timer term_timer;              // SIGTERM → SIGKILL escalation
  asio::steady_timer grace_timer;             // exit → pipe EOF wait

  std::array<char, 64 * 1024> stdout_buf{};  // a pipe's worth: one read per wakeup in a flood
  std::array<char, 16 * 1024> stderr_buf{};
  std::string stderr_ring;
  std::size_t line_bytes = 0;  // stdout bytes since the last '\n'
  bool stdout_pipe_grown = false;

  std::deque<std::string> write_queue;
  bool writing = false;
  bool stdin_closed = false;
  bool close_stdin_when_written = false;
  std::error_code first_write_error;

  bool reaped = false;
  int wait_status = 0;
  bool stdout_eof = false;
  bool stderr_eof = false;
  bool grace_expired = false;
  bool finished = false;   // on_closed delivered
  bool destroyed = false;  // owner gone: no more callbacks
  bool term_sent = false;
  bool in_stdout_callback = false;
  std::optional<std::string> kill_reason;
  std::vector<std::function<void()>> close_waiters;
  std::chrono::milliseconds eof_grace{0};
  // Released once the child is reaped and reported, or on shutdown; until
  // then the group id stays reserved for signal_group().
  GroupGuardian guardian;

  void start() {
    read_stdout();
    read_stderr();
    watch_exit();
  }

  void signal_group(int sig) const {
    // Negative pid: the whole process group, so helpers the backend started
    // die with it. ESRCH (group already gone) is fine.
    ::kill(-pid, sig);
  }

  // A read that fills the whole buffer means a flood: the default 64 KiB pipe
  // is full at once, and the backend and avenor then wake each other for
  // every read. A 1 MiB pipe lets both run on (10-15 % more events/s in
  // paired bench/event_path_bench runs). Only a flooding backend gets it:
  // pipe pages count against the user's pipe-user-pages-soft, so hundreds of
  // parked runtimes must not each hold one. Best effort (pipe-max-size caps it).
  void grow_stdout_pipe() {
    stdout_pipe_grown = true;
    (void)::fcntl(stdout_pipe.native_handle(), F_SETPIPE_SZ, 1 << 20);
  }

  void read_stdout() {
    stdout_pipe.async_read_some(
        asio::buffer(stdout_buf),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          self->on_stdout(ec, n);
        });
  }

  void on_stdout(boost::system::error_code ec, std::size_t n) {
    if (destroyed || finished) return;
    if (ec) {
      stdout_eof = true;
      maybe_finish();
      return;
    }
    if (n == stdout_buf.size() && !stdout_pipe_grown) grow_stdout_pipe();
    if (!kill_reason) {
      std::string_view chunk(stdout_buf.data(), n);
      if (line_too_long(chunk)) {
        kill_now(kLineLimitReason);
      } else if (handlers.on_stdout) {
        in_stdout_callback = true;
        handlers.on_stdout(chunk);
        in_stdout_callback = false;
        if (destroyed) handlers = {};  // deferred from shutdown(); safe now it has returned
        if (destroyed || finished) return;
      }
    }
    // After a kill the output is drained and dropped until EOF.
    read_stdout();
  }

  // Updates the running line length; true once a line passes the limit.
  // Chunks are at most 64 KiB, so only the first and last segment of a chunk
  // can extend a line past 4 MiB.
  bool line_too_long(std::string_view chunk) {
    const std::size_t first_nl = chunk.find('\n');
    if (first_nl == std::string_view::npos) {
      line_bytes += chunk.size();
      return line_bytes > kMaxLineBytes;
    }
    if (line_bytes + first_nl > kMaxLineBytes) return true;
    line_bytes = chunk.size() - chunk.rfind('\n') - 1;
    return false;
  }

  void read_stderr() {
    stderr_pipe.async_read_some(
        asio::buffer(stderr_buf),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          self->on_stderr(ec, n);
        });
  }

  void on_stderr(boost::system::error_code ec, std::size_t n) {
    if (destroyed || finished) return;
    if (ec) {
      stderr_eof = true;
      maybe_finish();
      return;
    }
    stderr_ring.append(stderr_buf.data(), n);
    if (stderr_ring.size() > kStderrTailBytes)
      stderr_ring.erase(0, stderr_ring.size() - kStderrTailBytes);
    read_stderr();
  }

  void watch_exit() {
    exit_watch.async_wait(asio::posix::descriptor_base::wait_read,
                          [self = shared_from_this()](boost::system::error_code ec) {
                            if (self->destroyed || self->reaped || ec) return;
                            self->try_reap();
                          });
  }

  void try_reap() {
    int status = 0;
    pid_t r = 0;
    do {
      r = ::waitpid(pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {  // readiness without exit: keep waiting
      watch_exit();
      return;
    }
    // r < 0 (ECHILD) means someone else reaped our child, which the class
    // contract forbids; treat it as an exit rather than wait forever.
    reaped = true;
    wait_status = r > 0 ? status : 0;
    boost::system::error_code ignored;
    exit_watch.close(ignored);
    if (!(stdout_eof && stderr_eof)) {
      // A grandchild that escaped the group may hold the pipes open forever;
      // what the child itself wrote is already in the pipe, so a short grace
      // loses nothing of its output.
      grace_timer.expires_after(kTermGrace);
      grace_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->destroyed || self->finished) return;
        self->grace_expired = true;
        self->maybe_finish();
      });
    }
    maybe_finish();
  }

  std::string close_reason() const {
    if (kill_reason) return *kill_reason;
    std::string reason = "process exited";
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) != 0) {
      reason = "process exited with status " + std::to_string(WEXITSTATUS(wait_status));
    } else if (WIFSIGNALED(wait_status)) {
      reason = "process killed by signal " + std::to_string(WTERMSIG(wait_status));
    }
    const std::string tail = trim(utf8_tail(stderr_ring, kReasonTailBytes));
    if (!tail.empty()) reason += ": " + tail;
    return reason;
  }

  void close_pipes() {
    boost::system::error_code ignored;
    stdin_closed = true;
    write_queue.clear();
    stdin_pipe.close(ignored);
    stdout_pipe.close(ignored);
    stderr_pipe.close(ignored);
  }

  void maybe_finish() {
    if (finished || destroyed || !reaped) return;
    if (!(stdout_eof && stderr_eof) && !grace_expired) return;
    finished = true;
    term_timer.cancel();
    grace_timer.cancel();
    close_pipes();
    auto on_closed = std::move(handlers.on_closed);
    handlers = {};
    if (on_closed) on_closed(close_reason());
    guardian.release();
    if (destroyed) return;
    auto waiters = std::move(close_waiters);
    close_waiters.clear();
    for (auto& done : waiters) {
      if (destroyed) return;
      if (done) done();
    }
  }

  void close_stdin() {
    if (stdin_closed) return;
    stdin_closed = true;
    write_queue.clear();
    boost::system::error_code ignored;
    stdin_pipe.close(ignored);
  }

  void write(std::string bytes) {
    if (finished || stdin_closed || first_write_error) return;
    write_queue.push_back(std::move(bytes));
    if (!writing) write_next();
  }

  void write_next() {
    writing = true;
    // deque::push_back keeps references valid, so front() stays put while
    // later writes are queued.
    asio::async_write(stdin_pipe, asio::buffer(write_queue.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->on_written(ec);
                      });
  }

  void on_written(boost::system::error_code ec) {
    writing = false;
    if (destroyed || stdin_closed) return;
    if (ec) {
      first_write_error = std::error_code(ec.value(), std::generic_category());
      close_stdin();
      return;
    }
    write_queue.pop_front();
    if (!write_queue.empty())
      write_next();
    else if (close_stdin_when_written)
      close_stdin();
  }

  void finish_input() {
    close_stdin_when_written = true;
    if (!writing && write_queue.empty()) close_stdin();
  }

  void kill_now(std::string reason) {
    if (finished || destroyed) return;
    if (!kill_reason) kill_reason = std::move(reason);
    close_stdin();
    signal_group(SIGKILL);
  }

  void close(std::function<void()> done) {
    if (destroyed) return;
    if (finished) {
      if (done) asio::post(io, std::move(done));
      return;
    }
    close_waiters.push_back(std::move(done));
    close_stdin();
    if (term_sent) return;
    term_sent = true;
    if (eof_grace.count() > 0) {
      term_timer.expires_after(eof_grace);
      term_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->destroyed || self->finished) return;
        self->terminate();
      });
      return;
    }
    terminate();
  }

  void terminate() {
    signal_group(SIGTERM);
    term_timer.expires_after(kTermGrace);
    term_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->destroyed || self->finished) return;
      self->signal_group(SIGKILL);
    });
  }

  void shutdown() {
    destroyed = true;
    // Drop the callbacks (and whatever they captured) now, unless the owner
    // is destroying us from inside on_stdout: that std::function is still
    // executing and is cleared once it returns.
    if (!in_stdout_callback) handlers = {};
    close_waiters.clear();
    if (!finished) signal_group(SIGKILL);
    if (!reaped) {
      reap_blocking(pid);
      reaped = true;
    }
    guardian.release();
    boost::system::error_code ignored;
    close_pipes();
    exit_watch.close(ignored);
    term_timer.cancel();
    grace_timer.cancel();
  }
};

std::unique_ptr<ChildProcess> ChildProcess::spawn(asio::io_context& io, ChildSpec spec,
                                                  ChildHandlers handlers) {
  if (spec.argv.empty()) throw std::system_error(EINVAL, std::generic_category(), "start");
  const std::string name = spec.argv.front();
  const std::string what = "start " + name;
  const std::optional<std::string> path = resolve_executable(name);
  if (!path) throw_errno(ENOENT, what);

  Pipe in = make_pipe();
  Pipe out = make_pipe();
  Pipe err = make_pipe();
  Pipe report = make_pipe();

  // Everything the child touches is prepared before the clone: the child may
  // make async-signal-safe calls only (no allocation).
  std::vector<char*> argv = c_strings(spec.argv);
  std::vector<char*> envp = c_strings(spec.env);
  const ExecArgs exec_args{path->c_str(),   argv.data(),
                           envp.data(),     spec.cwd.empty() ? nullptr : spec.cwd.c_str(),
                           in.read.get(),   out.write.get(),
                           err.write.get(), report.write.get(),
                           ::getpid()};
  const pid_t pid = clone_and_exec(exec_args);
  if (pid < 0) throw_errno(errno, what);
  // Also set the group from the parent so it exists before we ever signal
  // it; EACCES after the child's exec is harmless.
  ::setpgid(pid, pid);
  in.read.reset();
  out.write.reset();
  err.write.reset();
  report.write.reset();

  // The report pipe closes on successful exec (CLOEXEC) or carries the
  // child's errno.
  ExecFailure failure{};
  ssize_t n = 0;
  do {
    n = ::read(report.read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n != 0) {
    reap_blocking(pid);
    if (n < 0) throw_errno(errno, what);
    if (failure.stage == kStageChdir) throw_errno(failure.error, what + ": chdir " + spec.cwd);
    throw_errno(failure.error, what);
  }

  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    const int saved = errno;
    ::kill(-pid, SIGKILL);
    reap_blocking(pid);
    throw_errno(saved, what + ": pidfd_open");
  }

  // The group's helpers die with avenor too (PDEATHSIG covers the child only).
  GroupGuardian guardian = GroupGuardian::start(pid);
  try {
    auto state =
        std::make_shared<State>(io, pid, std::move(handlers), std::move(in.write),
                                std::move(out.read), std::move(err.read), std::move(pidfd));
    state->eof_grace = spec.eof_grace;
    state->guardian = std::move(guardian);
    state->start();
    return std::make_unique<ChildProcess>(Key{}, std::move(state));
  } catch (...) {
    // The child is running but nobody would own it: no orphan, no zombie.
    ::kill(-pid, SIGKILL);
    reap_blocking(pid);
    throw;
  }
}

ChildProcess::~ChildProcess() {
  if (state_) state_->shutdown();
}

void ChildProcess::finish_input() { state_->finish_input(); }

std::optional<int> ChildProcess::exit_code() const {
  if (!state_->reaped || !WIFEXITED(state_->wait_status)) return std::nullopt;
  return WEXITSTATUS(state_->wait_status);
}

int ChildProcess::exit_signal() const {
  return state_->reaped && WIFSIGNALED(state_->wait_status) ? WTERMSIG(state_->wait_status) : 0;
}

pid_t ChildProcess::pid() const { return state_->pid; }

void ChildProcess::write(std::string bytes) { state_->write(std::move(bytes)); }

void ChildProcess::kill_now(std::string reason) { state_->kill_now(std::move(reason)); }

void ChildProcess::close(std::function<void()> done) { state_->close(std::move(done)); }

std::string ChildProcess::stderr_tail() const { return state_->stderr_ring; }

bool ChildProcess::running() const { return !state_->reaped; }

std::error_code ChildProcess::write_error() const { return state_->first_write_error; }

}  // namespace avenor::host
