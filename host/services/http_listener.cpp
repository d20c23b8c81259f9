#include "services/http_listener.hpp"

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/json.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "services/http_headers.hpp"
#include "util/accept_guard.hpp"
#include "util/diagnostics.hpp"
#include "util/utf8.hpp"

namespace avenor::host {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = sdk::json;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

// co_spawn completion: nothing in a listener coroutine should throw, but if
// something does it is logged, not lost.
void log_listener_failure(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    diagnostics::warn(std::string("http.listen: ") + e.what());
  }
}

asio::ip::address loopback_address(const std::string& host) {
  if (host.empty() || host == "localhost") return asio::ip::make_address("127.0.0.1");
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec || !address.is_loopback())
    throw std::runtime_error("http.listen accepts loopback addresses only, not " + host);
  return address;
}

struct ListenerState {
  // Live connections beyond this get a 503 and are closed (issue 15).
  static constexpr std::size_t kMaxConnections = 64;

  ListenerState(asio::io_context& io, HttpListenerRegistry& r, CallSink s, std::uint64_t id)
      : acceptor(io),
        accept_guard(io.get_executor(), "http.listen", kMaxConnections, &http_refusal),
        registry(r),
        sink(std::move(s)),
        call_id(id) {}

  tcp::acceptor acceptor;
  AcceptGuard accept_guard;
  HttpListenerRegistry& registry;
  CallSink sink;
  std::uint64_t call_id;
  std::size_t max_body = std::size_t{1} << 20;
  std::chrono::milliseconds read_timeout{5000};
  std::uint64_t next_request = 1;
  bool ended = false;
  bool quiet = false;  // the owner is gone: no more reports
  std::set<std::shared_ptr<beast::tcp_stream>> connections;
  // Requests handed to the plugin, with the timer their connection waits on.
  std::map<std::string, asio::steady_timer*> waiting;

  void end(std::int32_t status, std::string text) {
    if (ended) return;
    ended = true;
    if (!quiet) sink.end(status, std::move(text));
  }
  void stop() {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    accept_guard.cancel();
    for (const auto& c : connections) c->close();
    connections.clear();
    for (const auto& [id, timer] : waiting) {
      registry.drop(id);
      timer->cancel();  // its connection wakes up, sees `ended`, and closes
    }
    waiting.clear();
  }
};

http::response<http::string_body> simple_response(unsigned status, std::string body, bool keep) {
  http::response<http::string_body> r{static_cast<http::status>(status), 11};
  r.set(http::field::content_type, "application/json");
  r.body() = std::move(body);
  r.keep_alive(keep);
  r.prepare_payload();
  return r;
}

asio::awaitable<void> serve(std::shared_ptr<ListenerState> s,
                            std::shared_ptr<beast::tcp_stream> stream) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(s->max_body);
    stream->expires_after(s->read_timeout);
    boost::system::error_code ec;
    co_await http::async_read(*stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec == http::error::body_limit) {
      auto r = simple_response(413, R"({"error":"body too large"})", false);
      co_await http::async_write(*stream, r, asio::redirect_error(use_awaitable, ec));
      break;
    }
    if (ec || s->ended) break;
    auto& req = parser.get();
    if (!is_valid_utf8(req.body())) {
      auto r = simple_response(400, R"({"error":"body is not UTF-8"})", req.keep_alive());
      co_await http::async_write(*stream, r, asio::redirect_error(use_awaitable, ec));
      if (ec || !req.keep_alive()) break;
      continue;
    }
    const std::string id = std::to_string(s->call_id) + "-" + std::to_string(s->next_request++);
    std::string target(req.target());
    auto q = target.find('?');
    boost::json::object headers = header_object(req.base());
    boost::json::object message{
        {"type", "request"},
        {"request_id", id},
        {"method", std::string(req.method_string())},
        {"target", target},
        {"path", target.substr(0, q)},
        {"query", q == std::string::npos ? std::string() : target.substr(q + 1)},
        {"headers", std::move(headers)},
        {"body", req.body()}};

    // Wait for the plugin's answer: the timer is the signal, the reply the payload.
    asio::steady_timer answered(stream->get_executor(), asio::steady_timer::time_point::max());
    std::optional<HttpListenerReply> reply;
    s->waiting[id] = &answered;
    s->registry.add(id, [&answered, &reply](HttpListenerReply r) {
      reply = std::move(r);
      answered.cancel();
    });
    s->sink.data(json::dump(message));
    stream->expires_never();
    co_await answered.async_wait(asio::redirect_error(use_awaitable, ec));
    s->waiting.erase(id);
    s->registry.drop(id);
    if (!reply || s->ended) break;

    http::response<http::string_body> r{static_cast<http::status>(reply->status), 11};
    r.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : reply->headers) r.set(k, v);
    r.body() = std::move(reply->body);
    r.keep_alive(req.keep_alive());
    r.prepare_payload();
    stream->expires_after(s->read_timeout);
    co_await http::async_write(*stream, r, asio::redirect_error(use_awaitable, ec));
    if (ec || !req.keep_alive()) break;
  }
  s->connections.erase(stream);
  stream->close();
}

asio::awaitable<void> accept_loop(std::shared_ptr<ListenerState> s) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await s->acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (s->ended) co_return;
    if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) {
      s->end(s->quiet ? 0 : AVENOR_FAILURE_ERROR, "accept failed: " + ec.message());
      co_return;
    }
    if (ec) {
      // EMFILE and the like are passing: shed the queue and back off, the
      // listener stays up.
      co_await s->accept_guard.pause_after(ec, s->acceptor.native_handle());
      continue;
    }
    if (!s->accept_guard.admit(socket.native_handle(), s->connections.size())) continue;
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    s->connections.insert(stream);
    asio::co_spawn(s->acceptor.get_executor(), serve(s, stream), &log_listener_failure);
  }
}

class HttpListenerCall : public ServiceCall {
 public:
  explicit HttpListenerCall(std::shared_ptr<ListenerState> s) : state_(std::move(s)) {}
  ~HttpListenerCall() override {
    state_->quiet = true;
    state_->ended = true;
    state_->stop();
  }
  void cancel() override {
    state_->end(AVENOR_FAILURE_CANCELLED, "cancelled");
    state_->stop();
  }

 private:
  std::shared_ptr<ListenerState> state_;
};

}  // namespace

void HttpListenerRegistry::respond(const boost::json::object& o) {
  const std::string id = json::string_or(o, "request_id");
  auto it = waiting_.find(id);
  if (it == waiting_.end()) throw std::runtime_error("no HTTP request " + id + " is waiting");
  HttpListenerReply reply;
  reply.status = static_cast<unsigned>(json::find_int(o, "status").value_or(200));
  if (reply.status < 100 || reply.status > 599)
    throw std::runtime_error("bad HTTP status " + std::to_string(reply.status));
  if (const auto* h = json::find_object(o, "headers"))
    for (const auto& [k, v] : *h)
      if (v.is_string()) reply.headers[std::string(k)] = std::string(v.get_string());
  reply.body = json::string_or(o, "body");
  auto responder = std::move(it->second);
  waiting_.erase(it);
  responder(std::move(reply));
}

std::unique_ptr<ServiceCall> start_http_listener(asio::io_context& io,
                                                 const boost::json::object& request,
                                                 std::uint64_t call_id,
                                                 HttpListenerRegistry& registry, CallSink sink) {
  auto address = loopback_address(json::string_or(request, "host", "127.0.0.1"));
  auto port = static_cast<unsigned short>(json::find_int(request, "port").value_or(0));
  auto s = std::make_shared<ListenerState>(io, registry, std::move(sink), call_id);
  if (auto max = json::find_int(request, "max_body_bytes"); max && *max > 0)
    s->max_body = static_cast<std::size_t>(*max);
  if (auto t = json::find_int(request, "read_timeout_ms"); t && *t > 0)
    s->read_timeout = std::chrono::milliseconds(*t);
  tcp::endpoint endpoint(address, port);
  s->acceptor.open(endpoint.protocol());
  s->acceptor.set_option(tcp::acceptor::reuse_address(true));
  s->acceptor.bind(endpoint);  // throws: reported by the router as the call's failure
  s->acceptor.listen();
  const auto bound = s->acceptor.local_endpoint().port();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  s->sink.data(
      json::dump(boost::json::object{{"type", "listening"},
                                     {"port", bound},
                                     {"url", "http://" + host + ":" + std::to_string(bound)}}));
  asio::co_spawn(io, accept_loop(s), &log_listener_failure);
  return std::make_unique<HttpListenerCall>(s);
}

}  // namespace avenor::host
