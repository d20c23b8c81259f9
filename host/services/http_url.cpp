#include "services/http_url.hpp"

#include <avenor/sdk/basic_auth.hpp>
#include <stdexcept>

namespace avenor::host {

HttpUrl parse_http_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, 8) == "https://")
    throw std::runtime_error("https is not supported: " + std::string(url));
  if (url.substr(0, kScheme.size()) != kScheme)
    throw std::runtime_error("not an http:// URL: " + std::string(url));
  std::string_view rest = url.substr(kScheme.size());
  std::size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  if (auto hash = tail.find('#'); hash != std::string_view::npos) tail = tail.substr(0, hash);

  HttpUrl u;
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    u.basic_auth = sdk::basic_authorization(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) throw std::runtime_error("URL has no host: " + std::string(url));
  u.host_header = std::string(authority);
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) throw std::runtime_error("bad IPv6 host in URL");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    u.port = after.size() > 1 && after.front() == ':' ? std::string(after.substr(1)) : "80";
  } else {
    auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    u.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
  }
  if (u.host.empty() || u.port.empty())
    throw std::runtime_error("bad host in URL: " + std::string(url));
  u.target = tail.empty() || tail.front() == '?' ? "/" + std::string(tail) : std::string(tail);
  return u;
}

}  // namespace avenor::host
