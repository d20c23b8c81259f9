#include "process/group_guardian.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace avenor::host {
namespace {

constexpr char kRelease = 'r';

// The guardian's whole program, run by /bin/sh under the name avenor-guard.
// A released guardian reads "r" (no newline: read fails at EOF but still
// sets the line) and exits quietly. EOF alone means avenor died holding the
// group: end all of it as the host would, SIGTERM, its 2 s grace, SIGKILL.
constexpr char kScript[] =
    "IFS= read -r line; [ \"$line\" = r ] || { kill -TERM 0; sleep 2; kill -KILL 0; }";

struct MiddleArgs {
  pid_t pgid;
  int link;
};

// The guardian: shares avenor's memory until execve (the middle waits), so
// async-signal-safe calls only. A shell costs one exec, where a fork of
// avenor cost a copy of its page tables on avenor's critical path, plus a
// copy-on-write fault for every page avenor touched afterwards (issue 15).
int guard(void* arg) {
  const int link = static_cast<const MiddleArgs*>(arg)->link;
  // Only SIGKILL may end it early: a SIGTERM meant for the backend's group
  // must not take the guardian with it. Signals ignored at entry stay
  // ignored in a non-interactive shell and in the `sleep` it starts.
  // SIGCHLD gets its default: the shell waits for `sleep`.
  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGCHLD && sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &action, nullptr);
  action.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Nothing but the link: avenor's pipes and sockets must not stay open
  // here (a backend's stdout would never reach EOF).
  // dup2 onto itself would keep the link's CLOEXEC (avenor started without stdin).
  if (link == 0 ? ::fcntl(0, F_SETFD, 0) != 0 : ::dup2(link, 0) != 0) ::_exit(127);
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || ::dup2(null, 1) != 1 || ::dup2(null, 2) != 2) ::_exit(127);
  ::close_range(3, ~0U, 0);
  // Its command line names it (cmdline starts "avenor-guard"), so whoever
  // looks for `avenor run …` processes does not count it.
  char name[] = "avenor-guard";
  char dash_c[] = "-c";
  char script[sizeof kScript];
  std::memcpy(script, kScript, sizeof kScript);
  char* const argv[] = {name, dash_c, script, nullptr};
  char path[] = "PATH=/usr/bin:/bin";
  char* const envp[] = {path, nullptr};
  ::execve("/bin/sh", argv, envp);
  ::_exit(127);
}

// The middle process: shares avenor's memory (CLONE_VM, avenor waits), so
// it costs no page-table copy. It joins the group, starts the guardian the
// same way and exits once the guardian has exec'd, so the guardian is
// re-parented away from avenor and nobody has to reap it.
int middle(void* arg) {
  auto* args = static_cast<MiddleArgs*>(arg);
  if (::setpgid(0, args->pgid) != 0) ::_exit(1);
  // Not zeroed: the child touches only its top pages (no memset, no faults).
  alignas(16) std::array<char, 16 * 1024> stack;
  const pid_t g =
      ::clone(&guard, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, args);
  if (g < 0) ::_exit(1);
  // CLONE_VFORK: the guardian has exec'd, or exited because it could not.
  int status = 0;
  if (::waitpid(g, &status, WNOHANG) != 0) ::_exit(1);
  ::_exit(0);
}

}  // namespace

GroupGuardian GroupGuardian::start(pid_t pgid) {
  std::array<int, 2> fds{};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0) return {};
  UniqueFd keep(fds[0]);
  UniqueFd give(fds[1]);
  MiddleArgs args{pgid, give.get()};
  // No handler may run in the middle or the guardian before its exec (they
  // share our memory); the guardian ignores every signal afterwards.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  // Not zeroed: the child touches only its top pages (no memset, no faults).
  alignas(16) std::array<char, 64 * 1024> stack;
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
