#include "claude_channel/loopback_http.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>
#include <charconv>
#include <future>

#include "http_debug/debug_address.hpp"

namespace avenor::host::claude_channel {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kMaxResponseBody = 1024 * 1024;

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    if (c != prefix[i]) return false;
  }
  return true;
}

std::uint16_t parse_port(std::string_view text, std::string_view url) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value == 0 ||
      value > 65535)
    throw std::runtime_error("invalid port in " + std::string(url));
  return static_cast<std::uint16_t>(value);
}

}  // namespace

LoopbackUrl parse_loopback_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!starts_with_nocase(url, kScheme))
    throw std::runtime_error("not an http:// URL: " + std::string(url));
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos)
    throw std::runtime_error("a query or fragment is not allowed: " + std::string(url));
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);

  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close + 1 >= authority.size() ||
        authority[close + 1] != ':')
      throw std::runtime_error("a port is required: " + std::string(url));
    host = authority.substr(1, close - 1);
    port = authority.substr(close + 2);
  } else {
    const std::size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos)
      throw std::runtime_error("a port is required: " + std::string(url));
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }

  LoopbackUrl out;
  asio::ip::address address;
  if (starts_with_nocase(host, "localhost") && host.size() == 9) {
    address = asio::ip::make_address_v4("127.0.0.1");
  } else {
    boost::system::error_code ec;
    address = asio::ip::make_address(std::string(host), ec);
    if (ec || !is_loopback_address(address))
      throw std::runtime_error("the host must be a loopback address: " + std::string(url));
  }
  out.endpoint = asio::ip::tcp::endpoint(address, parse_port(port, url));
  out.host_header = std::string(authority);
  out.base_path = std::string(path);
  return out;
}

asio::awaitable<HttpReply> LoopbackHttpClient::request(http::verb verb, std::string route,
                                                       std::string body) const {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  const std::string target = url_.base_path + route;
  try {
    stream.expires_after(timeout_);
    co_await stream.async_connect(url_.endpoint, asio::use_awaitable);

    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, url_.host_header);
    req.set(http::field::user_agent, "avenor-claude-channel");
    req.set(http::field::connection, "close");
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::move(body);
    }
    req.prepare_payload();
    co_await http::async_write(stream, req, asio::use_awaitable);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    const auto& res = parser.get();
    co_return HttpReply{res.result_int(), res.body()};
  } catch (const boost::system::system_error& e) {
    const std::string what =
        e.code() == beast::error::timeout ? std::string("timed out") : e.code().message();
    throw HttpTransportError(std::string(http::to_string(verb)) + " " + target + ": " + what);
  }
}

HttpReply LoopbackHttpClient::request_blocking(http::verb verb, std::string route,
                                               std::string body) const {
  asio::io_context io;
  std::future<HttpReply> reply =
      asio::co_spawn(io, request(verb, std::move(route), std::move(body)), asio::use_future);
  io.run();
  return reply.get();
}

}  // namespace avenor::host::claude_channel
