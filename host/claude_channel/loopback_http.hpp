// A minimal HTTP/1.1 JSON client for loopback URLs (`http://127.0.0.1:<port>`):
// the sidecar's way to the channel relay and the cleanup command's liveness
// probe. Every request opens its own connection and is bounded by one timeout
// covering connect, write and read.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace avenor::host::claude_channel {

// A parsed `http://<loopback host>:<port>[/base]` URL.
struct LoopbackUrl {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host_header;  // "<host>:<port>" as written
  std::string base_path;    // "" or "/prefix" (no trailing slash)
};

// Throws std::runtime_error naming what is wrong: not http, no port, a host
// that is not 127.0.0.0/8, ::1 or "localhost", a query or fragment.
LoopbackUrl parse_loopback_url(std::string_view url);

struct HttpReply {
  unsigned status = 0;
  std::string body;
};

// Transport failures: refused, reset, timed out, malformed response.
class HttpTransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LoopbackHttpClient {
 public:
  LoopbackHttpClient(LoopbackUrl url, std::chrono::milliseconds timeout)
      : url_(std::move(url)), timeout_(timeout) {}

  // Sends `body` (JSON text; none when empty) to base_path + `route`. Any
  // status is a reply; throws HttpTransportError otherwise. Response bodies
  // above 1 MiB are a transport error.
  boost::asio::awaitable<HttpReply> request(boost::beast::http::verb verb, std::string route,
                                            std::string body) const;

  // The same, run to completion on a private io_context (for one-shot
  // callers such as the cleanup command).
  HttpReply request_blocking(boost::beast::http::verb verb, std::string route,
                             std::string body) const;

  const LoopbackUrl& url() const { return url_; }

 private:
  LoopbackUrl url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace avenor::host::claude_channel
