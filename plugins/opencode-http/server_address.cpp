#include "server_address.hpp"

#include <avenor/sdk/basic_auth.hpp>
#include <stdexcept>

namespace avenor::opencode_http {

std::string redact_userinfo(std::string_view url) {
  auto scheme_end = url.find("://");
  std::size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  std::size_t end = url.find_first_of("/?#", start);
  std::string_view authority =
      url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, start)) + "***@" + std::string(url.substr(start + at + 1));
}

ServerAddress ServerAddress::parse(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  auto describe = [&] { return redact_userinfo(url); };
  if (url.substr(0, 8) == "https://")
    throw std::invalid_argument("https is not supported for the opencode server URL: " +
                                describe());
  if (url.substr(0, kScheme.size()) != kScheme)
    throw std::invalid_argument("opencode server URL must start with http://: " + describe());

  std::string_view rest = url.substr(kScheme.size());
  std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (auto cut = path.find_first_of("?#"); cut != std::string_view::npos)
    path = path.substr(0, cut);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);

  ServerAddress a;
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    a.authorization_ = sdk::basic_authorization(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  if (authority.empty() || authority.front() == ':')
    throw std::invalid_argument("opencode server URL has no host: " + describe());
  a.base_ = std::string(kScheme) + std::string(authority) + std::string(path);
  return a;
}

bool dir_allowed_with_url(std::string_view dir) { return dir.empty() || dir == "."; }

}  // namespace avenor::opencode_http
