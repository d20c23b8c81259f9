#include "stable/managed_health.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace avenor::host {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {
constexpr std::size_t kMaxBodyBytes = std::size_t{64} << 10;  // the answer is a tiny JSON object
}

std::string HealthAnswer::describe() const {
  return status != 0 ? "HTTP " + std::to_string(status) : error;
}

asio::awaitable<HealthAnswer> check_opencode_health(unsigned short port,
                                                    std::chrono::milliseconds timeout) {
  const auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  boost::system::error_code ec;

  co_await stream.async_connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port),
                                asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return HealthAnswer{0, "connect: " + ec.message()};

  http::request<http::empty_body> request(http::verb::get, "/global/health", 11);
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  request.set(http::field::user_agent, "avenor");
  request.set(http::field::connection, "close");
  co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return HealthAnswer{0, "write: " + ec.message()};

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBodyBytes);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return HealthAnswer{0, "read: " + ec.message()};
  co_return HealthAnswer{static_cast<int>(parser.get().result_int()), {}};
}

}  // namespace avenor::host
