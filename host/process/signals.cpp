#include "process/signals.hpp"

#include <csignal>
#include <system_error>

namespace avenor::host {

void ignore_sigpipe() {
  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  if (::sigaction(SIGPIPE, &action, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(), "ignore SIGPIPE");
}

}  // namespace avenor::host
