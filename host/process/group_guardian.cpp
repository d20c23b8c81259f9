#include "process/group_guardian.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <ctime>

namespace avenor::host {
namespace {

constexpr char kRelease = 'r';

// A fork still shows avenor's argv in /proc/<pid>/cmdline, so whoever looks
// for `avenor run …` processes would count the guardian too. Overwrite the
// argument area, whose bounds are fields 48 and 49 of /proc/self/stat.
// Async-signal-safe: stack buffers, open/read/close only.
void retitle() {
  constexpr char kTitle[] = "avenor-guard";
  std::array<char, 4096> buf{};
  const int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  const ssize_t n = ::read(fd, buf.data(), buf.size() - 1);
  ::close(fd);
  if (n <= 0) return;
  // Fields are counted from after the command name, which may hold spaces.
  const char* p = nullptr;
  for (ssize_t i = n - 1; i >= 0; --i) {
    if (buf[static_cast<std::size_t>(i)] == ')') {
      p = buf.data() + i + 1;
      break;
    }
  }
  if (p == nullptr) return;
  std::array<std::uintptr_t, 2> bounds{};  // arg_start, arg_end
  int field = 2;
  while (*p != '\0' && field < 49) {
    while (*p == ' ') ++p;
    ++field;
    std::uintptr_t value = 0;
    for (; *p >= '0' && *p <= '9'; ++p) value = value * 10 + static_cast<std::uintptr_t>(*p - '0');
    while (*p != ' ' && *p != '\0') ++p;
    if (field == 48) bounds[0] = value;
    if (field == 49) bounds[1] = value;
  }
  if (field != 49 || bounds[0] == 0 || bounds[1] <= bounds[0] + sizeof kTitle) return;
  auto* args = reinterpret_cast<char*>(bounds[0]);
  std::memset(args, 0, bounds[1] - bounds[0]);
  std::memcpy(args, kTitle, sizeof kTitle - 1);
}

// The guardian itself: async-signal-safe calls only (it is a fork of avenor).
[[noreturn]] void guard(int link) {
  // Only SIGKILL may end it early; a SIGTERM meant for the backend's group
  // must not take the guardian with it.
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  ::prctl(PR_SET_NAME, "avenor-guard", 0, 0, 0);
  retitle();
  // Everything but the link: avenor's pipes and sockets must not stay open
  // here (a backend's stdout would never reach EOF).
  if (link > 0) ::close_range(0, static_cast<unsigned>(link) - 1, 0);
  ::close_range(static_cast<unsigned>(link) + 1, ~0U, 0);
  char byte = 0;
  ssize_t n = 0;
  do {
    n = ::read(link, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 0) {  // avenor died holding the group: end all of it, as the host would
    ::kill(0, SIGTERM);
    timespec grace{2, 0};  // the host's SIGTERM → SIGKILL grace
    while (::nanosleep(&grace, &grace) != 0 && errno == EINTR) {
    }
    ::kill(0, SIGKILL);
  }
  ::_exit(0);
}

struct MiddleArgs {
  pid_t pgid;
  int link;
};

// The middle process: shares avenor's memory (CLONE_VM, avenor waits), so
// it costs no page-table copy. It joins the group, forks the guardian (the
// one copy of avenor's address space) and exits, so the guardian is
// re-parented away from avenor and nobody has to reap it.
int middle(void* arg) {
  const auto* args = static_cast<const MiddleArgs*>(arg);
  if (::setpgid(0, args->pgid) != 0) ::_exit(1);
  const pid_t g = ::_Fork();  // no atfork handlers: they would run in shared memory
  if (g < 0) ::_exit(1);
  if (g == 0) guard(args->link);
  ::_exit(0);
}

}  // namespace

GroupGuardian GroupGuardian::start(pid_t pgid) {
  std::array<int, 2> fds{};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0) return {};
  UniqueFd keep(fds[0]);
  UniqueFd give(fds[1]);
  MiddleArgs args{pgid, give.get()};
  // No handler may run in the middle process (it shares our memory); the
  // guardian wants every signal blocked anyway.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  alignas(16) std::array<char, 64 * 1024> stack{};
  const pid_t pid =
      ::clone(&middle, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return {};
  give.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  return GroupGuardian(std::move(keep));
}

GroupGuardian& GroupGuardian::operator=(GroupGuardian&& other) noexcept {
  if (this != &other) {
    release();
    link_ = std::move(other.link_);
  }
  return *this;
}

void GroupGuardian::release() noexcept {
  if (!link_) return;
  // MSG_NOSIGNAL: a guardian already gone (killed with its group) is EPIPE,
  // not a SIGPIPE for whoever owns us.
  [[maybe_unused]] ssize_t n = ::send(link_.get(), &kRelease, 1, MSG_NOSIGNAL);
  link_.reset();
}

}  // namespace avenor::host
