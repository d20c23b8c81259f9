#include "plugin_host/missing_executable.hpp"

namespace avenor::host {

MissingExecutable::MissingExecutable(std::string executable)
    : std::runtime_error("start " + executable + ": executable file not found in $PATH"),
      executable_(std::move(executable)) {}

std::string missing_executable_message(std::string_view backend, std::string_view executable) {
  return "backend \"" + std::string(backend) + "\" needs \"" + std::string(executable) +
         "\" on PATH, which was not found; run 'avenor doctor'";
}

}  // namespace avenor::host
