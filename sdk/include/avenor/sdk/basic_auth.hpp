// HTTP Basic authorization from the userinfo of a URL ("user:p%40ss" in
// http://user:p%40ss@host/), used by the host's HTTP client and by plugins
// that must keep the password out of the URLs they log.
#pragma once

#include <string>
#include <string_view>

namespace avenor::sdk {

// RFC 4648 base64 with padding.
inline std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    const bool two = i + 1 < bytes.size();
    if (two) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += two ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// "%40" → "@"; a malformed escape is kept as is.
inline std::string percent_decode(std::string_view text) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// "Basic <base64(user:pass)>" for a URL's userinfo ("user" alone means an
// empty password); both parts are percent-decoded.
inline std::string basic_authorization(std::string_view userinfo) {
  auto colon = userinfo.find(':');
  std::string user = percent_decode(userinfo.substr(0, colon));
  std::string pass =
      colon == std::string_view::npos ? std::string() : percent_decode(userinfo.substr(colon + 1));
  return "Basic " + base64_encode(user + ":" + pass);
}

}  // namespace avenor::sdk
