#include "util/self_executable.hpp"

#include <filesystem>
#include <system_error>

namespace avenor::host {

std::string self_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : path.string();
}

}  // namespace avenor::host
