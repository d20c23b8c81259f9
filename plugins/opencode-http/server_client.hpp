// Requests to the opencode server through the host's http.request service:
// base URL and Basic auth from the ServerAddress, JSON bodies, and failures
// as one line that names the request ("POST /session: HTTP 500: …") but never
// the credentials.
#pragma once

#include <avenor/sdk/host.hpp>
#include <avenor/sdk/services.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "server_address.hpp"

namespace avenor::opencode_http {

// A 2xx response, or why there is none.
struct ServerReply {
  int status = 0;     // 0 when no response arrived
  std::string body;   // the whole body of a 2xx response
  std::string error;  // empty for a 2xx
  bool ok() const { return error.empty(); }
};

class ServerClient {
 public:
  using Done = std::function<void(ServerReply)>;
  // Error bodies quoted in messages are cut to this size (backends.md §2.2).
  static constexpr std::size_t kMaxErrorBody = 64 * 1024;

  explicit ServerClient(sdk::Host host) : host_(host) {}

  void set_address(ServerAddress address) { address_ = std::move(address); }
  bool has_address() const { return address_.has_value(); }
  const ServerAddress& address() const { return *address_; }

  // A request for `path` with the authorization header set (for streams).
  sdk::HttpRequest request(std::string_view method, std::string_view path) const;

  sdk::CallId get(std::string_view path, std::chrono::milliseconds timeout, Done done);
  sdk::CallId post(std::string_view path, const boost::json::value& body,
                   std::chrono::milliseconds timeout, Done done);

  void cancel(sdk::CallId id) { host_.services().cancel(id); }

 private:
  sdk::CallId send(sdk::HttpRequest request, std::string what, Done done);

  sdk::Host host_;
  std::optional<ServerAddress> address_;
};

// "<what>: HTTP <status>: <body ≤ 64 KiB>" with the body cut on a UTF-8 boundary.
std::string http_status_error(std::string_view what, int status, std::string_view body);

}  // namespace avenor::opencode_http
