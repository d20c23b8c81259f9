// One running host service call (ABI 1.1) and where its output goes. Every
// service implements ServiceCall; the router owns the calls by id.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace avenor::host {

// Where a call reports. Both run on the event loop; `end` runs exactly once
// and nothing runs after it.
struct CallSink {
  std::function<void(std::string data)> data;
  std::function<void(std::int32_t status, std::string text)> end;  // status 0 or avenor_failure
};

class ServiceCall {
 public:
  virtual ~ServiceCall() = default;
  // Stop early; the call then ends as cancelled (unless it already ended).
  virtual void cancel() = 0;
};

}  // namespace avenor::host
