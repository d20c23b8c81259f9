// Ids the claude plugin makes up: the UUID of a new session (claude's
// --session-id must be a UUID) and the request ids of its control requests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace avenor::claude {

class SessionIds {
 public:
  // `random` gives 64 random bits per call; the default draws from
  // std::random_device. Tests pass a counter.
  explicit SessionIds(std::function<std::uint64_t()> random = {});

  // A random (version 4) UUID, lower-case.
  std::string new_session_uuid();
  // "avenor-<n>" for the next control request.
  std::string next_request_id();

 private:
  std::function<std::uint64_t()> random_;
  std::uint64_t counter_ = 0;
};

}  // namespace avenor::claude
