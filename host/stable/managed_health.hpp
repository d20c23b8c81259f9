// One `GET /global/health` against a managed opencode server on loopback,
// on the caller's event loop (never blocking it).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

namespace avenor::host {

struct HealthAnswer {
  int status = 0;     // the HTTP status; 0 when there was no HTTP answer
  std::string error;  // why there was none ("connect: Connection refused", ...)

  std::string describe() const;  // "HTTP 503" or the error
};

boost::asio::awaitable<HealthAnswer> check_opencode_health(unsigned short port,
                                                           std::chrono::milliseconds timeout);

}  // namespace avenor::host
