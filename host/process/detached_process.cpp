#include "process/detached_process.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstring>
#include <system_error>

extern char** environ;

namespace avenor::host {

namespace asio = boost::asio;

namespace {

// The fd the runtime finds its ready pipe on (AVENOR_CONTROL_READY_FD).
constexpr int kReadyFd = 3;

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

UniqueFd pidfd_open(pid_t pid) {
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

// Runs in the forked child: async-signal-safe calls only.
[[noreturn]] void exec_runtime(const char* path, char* const* argv, char* const* envp, int null_fd,
                               int err_fd, int ready_fd, int report_fd) {
  auto fail = [report_fd] {
    const int e = errno;
    [[maybe_unused]] ssize_t n = ::write(report_fd, &e, sizeof e);
    ::_exit(127);
  };
  if (::setpgid(0, 0) != 0) fail();
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(null_fd, 0) < 0 || ::dup2(null_fd, 1) < 0 || ::dup2(err_fd, 2) < 0 ||
      ::dup2(ready_fd, kReadyFd) < 0)
    fail();
  ::close_range(kReadyFd + 1, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(path, argv, envp);
  fail();
  ::_exit(127);
}

}  // namespace

std::vector<std::string> inherited_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("AVENOR_CONTROL_READY_FD=") ||
        kv.starts_with("AVENOR_CONTROL_IDENTITY_TOKEN="))
      continue;
    env.emplace_back(kv);
  }
  return env;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sig == SIGKILL ? "killed" : ::strsignal(sig);
    return std::string("signal: ") + (name ? name : std::to_string(sig).c_str());
  }
  return "exited";
}

std::unique_ptr<DetachedProcess> DetachedProcess::launch(asio::io_context& io,
                                                         const DetachedLaunch& spec) {
  const std::string what = "start runtime";
  if (spec.argv.empty()) throw_errno(EINVAL, what);
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd) throw_errno(errno, what + ": open /dev/null");
  UniqueFd err_fd(::open(spec.stderr_file.c_str(),
                         O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!err_fd) throw_errno(errno, what + ": open " + spec.stderr_file.string());
  std::array<int, 2> ready{};
  std::array<int, 2> report{};
  if (::pipe2(ready.data(), O_CLOEXEC) != 0) throw_errno(errno, what + ": pipe");
  UniqueFd ready_read(ready[0]);
  UniqueFd ready_write(ready[1]);
  if (::pipe2(report.data(), O_CLOEXEC) != 0) throw_errno(errno, what + ": pipe");
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);

  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> env = spec.env;
  env.push_back("AVENOR_CONTROL_READY_FD=" + std::to_string(kReadyFd));
  env.push_back("AVENOR_CONTROL_IDENTITY_TOKEN=" + spec.identity_token);
  std::vector<char*> c_argv = c_strings(argv);
  std::vector<char*> c_env = c_strings(env);

  const pid_t pid = ::fork();
  if (pid < 0) throw_errno(errno, what);
  if (pid == 0)
    exec_runtime(spec.executable.c_str(), c_argv.data(), c_env.data(), null_fd.get(), err_fd.get(),
                 ready_write.get(), report_write.get());
  ::setpgid(pid, pid);  // also from here, so the group exists before we signal it
  ready_write.reset();
  report_write.reset();

  int child_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(report_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n != 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw_errno(n > 0 ? child_errno : errno, what + ": " + spec.argv.front());
  }
  UniqueFd pidfd = pidfd_open(pid);
  if (!pidfd) {
    const int saved = errno;
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw_errno(saved, what + ": pidfd_open");
  }
  auto process = std::make_unique<DetachedProcess>(io, pid, pid, true, std::move(pidfd),
                                                   std::move(ready_read));
  process->watch_exit();
  return process;
}

std::unique_ptr<DetachedProcess> DetachedProcess::adopt(asio::io_context& io, pid_t pid,
                                                        pid_t pgid) {
  if (pid <= 0) return nullptr;
  UniqueFd pidfd = pidfd_open(pid);
  if (!pidfd) return nullptr;  // ESRCH: gone
  auto process = std::make_unique<DetachedProcess>(io, pid, pgid > 0 ? pgid : pid, false,
                                                   std::move(pidfd), UniqueFd());
  process->watch_exit();
  return process;
}

DetachedProcess::DetachedProcess(asio::io_context& io, pid_t pid, pid_t pgid, bool is_child,
                                 UniqueFd pidfd, UniqueFd ready_read)
    : io_(io), pid_(pid), pgid_(pgid), is_child_(is_child), exit_watch_(io), ready_(io) {
  exit_watch_.assign(pidfd.release());
  if (ready_read) ready_.assign(ready_read.release());
}

DetachedProcess::~DetachedProcess() {
  boost::system::error_code ec;
  exit_watch_.close(ec);
  ready_.close(ec);
  // A child we started and that has exited is reaped; a live one keeps
  // running (the supervisor may die and a successor re-adopt it).
  if (is_child_ && exited_) return;
  if (is_child_) {
    int status = 0;
    ::waitpid(pid_, &status, WNOHANG);
  }
}

void DetachedProcess::on_exit(ExitHandler handler) {
  on_exit_ = std::move(handler);
  if (exited_ && on_exit_) {
    asio::post(io_, [this] {
      if (on_exit_) std::exchange(on_exit_, {})(exit_code_, description_);
    });
  }
}

void DetachedProcess::watch_exit() {
  exit_watch_.async_wait(asio::posix::stream_descriptor::wait_read,
                         [this](boost::system::error_code ec) {
                           if (ec == asio::error::operation_aborted) return;
                           reap();
                         });
}

void DetachedProcess::reap() {
  if (exited_) return;
  exited_ = true;
  if (is_child_) {
    int status = 0;
    pid_t r = 0;
    do {
      r = ::waitpid(pid_, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
      description_ = describe_wait_status(status);
    } else {
      exit_code_ = 1;
      description_ = "exited";
    }
  } else {
    description_ = "exited";
  }
  if (on_exit_) std::exchange(on_exit_, {})(exit_code_, description_);
}

asio::awaitable<bool> DetachedProcess::wait_ready(std::chrono::milliseconds limit) {
  if (!ready_.is_open()) co_return false;
  asio::steady_timer timer(io_);
  timer.expires_after(limit);
  // Shared: an expiry already queued may run after this frame is gone.
  auto timed_out = std::make_shared<bool>(false);
  timer.async_wait([this, timed_out](boost::system::error_code ec) {
    if (ec || !ready_.is_open()) return;
    *timed_out = true;
    boost::system::error_code ignored;
    ready_.cancel(ignored);
  });
  char byte = 0;
  boost::system::error_code ec;
  std::size_t n = co_await ready_.async_read_some(asio::buffer(&byte, 1),
                                                  asio::redirect_error(asio::use_awaitable, ec));
  timer.cancel();
  boost::system::error_code ignored;
  ready_.close(ignored);
  co_return !ec && !*timed_out && n == 1 && byte == 0x01;
}

void DetachedProcess::signal_group(int signal) const {
  if (pgid_ > 0) ::kill(-pgid_, signal);
}

}  // namespace avenor::host
