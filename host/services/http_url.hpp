// The parts of an http:// URL the host's HTTP client needs, with userinfo
// turned into a Basic authorization value (and kept out of the target).
#pragma once

#include <string>
#include <string_view>

namespace avenor::host {

struct HttpUrl {
  std::string host;         // without brackets for IPv6
  std::string port;         // "80" when absent
  std::string target;       // path + query, at least "/"
  std::string basic_auth;   // "Basic <base64>" when the URL had userinfo, else empty
  std::string host_header;  // host[:port] as sent in Host:
};

// Throws std::runtime_error naming the problem ("https is not supported", ...).
HttpUrl parse_http_url(std::string_view url);

}  // namespace avenor::host
