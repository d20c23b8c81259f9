// Where the opencode server is and how to authenticate (backends.md §2.1):
// userinfo in the configured URL becomes an HTTP Basic authorization header
// and is removed from the base URL, so no URL the plugin builds or logs ever
// carries the password.
#pragma once

#include <string>
#include <string_view>

namespace avenor::opencode_http {

class ServerAddress {
 public:
  // Parses an http:// URL ("http://user:pass@host:port/prefix"). Throws
  // std::invalid_argument with a message that never repeats the password.
  static ServerAddress parse(std::string_view url);

  // "http://host:port[/prefix]" without userinfo or trailing slash.
  const std::string& base() const { return base_; }
  // "Basic <base64(user:pass)>", or "" when the URL had no userinfo.
  const std::string& authorization() const { return authorization_; }
  // base() + path; `path` starts with '/'.
  std::string url(std::string_view path) const { return base_ + std::string(path); }

 private:
  std::string base_;
  std::string authorization_;
};

// `url` with any userinfo replaced by "***", for messages.
std::string redact_userinfo(std::string_view url);

// §2.1: with a server URL the working directory is the server's, so only an
// empty --dir or "." is accepted.
bool dir_allowed_with_url(std::string_view dir);

}  // namespace avenor::opencode_http
