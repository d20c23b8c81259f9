// A backend CLI that is not on PATH: the most common reason a first run
// fails, so it gets its own error and a message that says what to do.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace avenor::host {

// Thrown by BackendConnection::launch when the program a plugin asks for is
// not found on avenor's PATH.
class MissingExecutable : public std::runtime_error {
 public:
  explicit MissingExecutable(std::string executable);
  const std::string& executable() const { return executable_; }

 private:
  std::string executable_;
};

// `backend "<b>" needs "<exe>" on PATH, which was not found; run 'avenor doctor'`
std::string missing_executable_message(std::string_view backend, std::string_view executable);

}  // namespace avenor::host
