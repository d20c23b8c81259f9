#include "control/control_environment.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace avenor::host {

std::string take_identity_token() {
  const char* v = std::getenv("AVENOR_CONTROL_IDENTITY_TOKEN");
  std::string token = v ? v : "";
  ::unsetenv("AVENOR_CONTROL_IDENTITY_TOKEN");
  return token;
}

void signal_control_ready() {
  const char* v = std::getenv("AVENOR_CONTROL_READY_FD");
  std::string text = v ? v : "";
  ::unsetenv("AVENOR_CONTROL_READY_FD");
  int fd = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || fd < 3) return;
  const char ready = 0x01;
  // The supervisor waiting on the pipe treats a missing byte as a failed
  // start, so there is nothing more useful to do with a write error here.
  [[maybe_unused]] auto n = ::write(fd, &ready, 1);
  ::close(fd);
}

}  // namespace avenor::host
