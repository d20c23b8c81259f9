#include "services/http_client_call.hpp"

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/json.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <stdexcept>
#include <string>

#include "services/http_headers.hpp"
#include "services/http_url.hpp"
#include "util/utf8.hpp"

namespace avenor::host {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = sdk::json;
using asio::use_awaitable;

constexpr std::size_t kMaxBodyBytes = std::size_t{64} << 20;
constexpr std::size_t kMaxErrorBodyBytes = std::size_t{64} << 10;

struct HttpExchange {
  HttpUrl url;
  http::request<http::string_body> request;
  std::chrono::milliseconds timeout{30000};
  bool stream = false;
};

HttpExchange exchange_of(const boost::json::object& o) {
  HttpExchange x;
  x.url = parse_http_url(json::string_or(o, "url"));
  std::string method = json::string_or(o, "method", "GET");
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) throw std::runtime_error("unknown HTTP method " + method);
  x.request = http::request<http::string_body>(verb, x.url.target, 11);
  x.request.set(http::field::host, x.url.host_header);
  x.request.set(http::field::user_agent, "avenor");
  if (!x.url.basic_auth.empty()) x.request.set(http::field::authorization, x.url.basic_auth);
  if (const auto* headers = json::find_object(o, "headers"))
    for (const auto& [k, v] : *headers)
      if (v.is_string()) x.request.set(std::string(k), std::string(v.get_string()));
  x.request.body() = json::string_or(o, "body");
  if (!x.request.body().empty() || verb == http::verb::post || verb == http::verb::put ||
      verb == http::verb::patch)
    x.request.prepare_payload();
  x.timeout = std::chrono::milliseconds(json::find_int(o, "timeout_ms").value_or(30000));
  x.stream = json::bool_or(o, "stream");
  return x;
}

// Shared by the coroutine and the ServiceCall, so cancel() and a finishing
// exchange never race over freed memory.
struct HttpCallState {
  HttpCallState(asio::io_context& io, CallSink s) : stream(io), sink(std::move(s)) {}

  beast::tcp_stream stream;
  CallSink sink;
  bool ended = false;
  bool cancelled = false;

  void end(std::int32_t status, std::string text) {
    if (ended) return;
    ended = true;
    sink.end(status, std::move(text));
  }
  void fail(const std::string& message) {
    end(cancelled ? AVENOR_FAILURE_CANCELLED : AVENOR_FAILURE_ERROR,
        cancelled ? "cancelled" : message);
  }
};

void arm_timeout(beast::tcp_stream& stream, std::chrono::milliseconds timeout) {
  if (timeout.count() > 0)
    stream.expires_after(timeout);
  else
    stream.expires_never();
}

asio::awaitable<void> connect(HttpCallState& s, const HttpExchange& x) {
  asio::ip::tcp::resolver resolver(s.stream.get_executor());
  auto endpoints = co_await resolver.async_resolve(x.url.host, x.url.port, use_awaitable);
  co_await s.stream.async_connect(endpoints, use_awaitable);
}

asio::awaitable<void> run_whole(std::shared_ptr<HttpCallState> s, HttpExchange x) {
  arm_timeout(s->stream, x.timeout);
  co_await connect(*s, x);
  co_await http::async_write(s->stream, x.request, use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBodyBytes);
  co_await http::async_read(s->stream, buffer, parser, use_awaitable);
  auto& response = parser.get();
  boost::json::object result{{"status", response.result_int()},
                             {"headers", header_object(response.base())},
                             {"body", to_valid_utf8(response.body())}};
  s->end(0, json::dump(result));
}

asio::awaitable<void> run_stream(std::shared_ptr<HttpCallState> s, HttpExchange x) {
  arm_timeout(s->stream, x.timeout);
  co_await connect(*s, x);
  co_await http::async_write(s->stream, x.request, use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);  // an event stream has no end in sight
  co_await http::async_read_header(s->stream, buffer, parser, use_awaitable);
  s->stream.expires_never();
  const unsigned status = parser.get().result_int();
  const bool success = status >= 200 && status < 300;
  std::string error_body;
  char chunk[16 * 1024];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    boost::system::error_code ec;
    co_await http::async_read_some(s->stream, buffer, parser,
                                   asio::redirect_error(use_awaitable, ec));
    if (ec && ec != http::error::need_buffer) throw boost::system::system_error(ec);
    std::string_view got(chunk, sizeof chunk - parser.get().body().size);
    if (got.empty()) continue;
    if (success) {
      if (s->ended) co_return;
      s->sink.data(std::string(got));
    } else if (error_body.size() < kMaxErrorBodyBytes) {
      error_body.append(got.substr(0, kMaxErrorBodyBytes - error_body.size()));
    }
  }
  if (!success) {
    s->end(AVENOR_FAILURE_ERROR,
           "HTTP " + std::to_string(status) + ": " + to_valid_utf8(error_body));
    co_return;
  }
  boost::json::object result{{"status", status}, {"headers", header_object(parser.get().base())}};
  s->end(0, json::dump(result));
}

class HttpClientCall : public ServiceCall {
 public:
  explicit HttpClientCall(std::shared_ptr<HttpCallState> s) : state_(std::move(s)) {}
  ~HttpClientCall() override {
    // The router is going away: stop quietly.
    state_->ended = true;
    close();
  }
  void cancel() override {
    state_->cancelled = true;
    close();
  }

 private:
  void close() {
    boost::system::error_code ignored;
    state_->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    state_->stream.close();
  }
  std::shared_ptr<HttpCallState> state_;
};

}  // namespace

std::unique_ptr<ServiceCall> start_http_call(asio::io_context& io,
                                             const boost::json::object& request, CallSink sink) {
  HttpExchange x = exchange_of(request);
  auto state = std::make_shared<HttpCallState>(io, std::move(sink));
  const bool stream = x.stream;
  auto body = stream ? run_stream(state, std::move(x)) : run_whole(state, std::move(x));
  asio::co_spawn(io, std::move(body), [state](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const boost::system::system_error& e) {
      state->fail(e.code() == beast::error::timeout ? "HTTP request timed out"
                                                    : "HTTP request failed: " + e.code().message());
    } catch (const std::exception& e) {
      state->fail(std::string("HTTP request failed: ") + e.what());
    }
  });
  return std::make_unique<HttpClientCall>(state);
}

}  // namespace avenor::host
