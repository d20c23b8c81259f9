#include "process/signals.hpp"

#include <pthread.h>

#include <csignal>
#include <system_error>

namespace avenor::host {
namespace {

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

void change_mask(int how) {
  const sigset_t set = termination_signals();
  // pthread_sigmask returns the error instead of setting errno.
  if (int rc = ::pthread_sigmask(how, &set, nullptr); rc != 0)
    throw std::system_error(rc, std::generic_category(), "change the signal mask");
}

}  // namespace

void ignore_sigpipe() {
  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  if (::sigaction(SIGPIPE, &action, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(), "ignore SIGPIPE");
}

void block_termination_signals() { change_mask(SIG_BLOCK); }

void unblock_termination_signals() { change_mask(SIG_UNBLOCK); }

}  // namespace avenor::host
