#include "mcp/http_transport.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <chrono>
#include <deque>
#include <exception>
#include <stdexcept>
#include <unordered_set>
#include <vector>

#include "http_debug/debug_address.hpp"
#include "util/accept_guard.hpp"
#include "util/diagnostics.hpp"
#include "util/json_text.hpp"

namespace avenor::host::mcp {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// A request head must arrive within this (it also ends idle keep-alive
// connections), and so must its body; a slow client cannot pin a connection.
constexpr auto kHeaderTimeout = std::chrono::seconds(30);
constexpr auto kBodyTimeout = std::chrono::seconds(30);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
// How long a refused request's unread body is drained before closing, so
// the refusal reaches the client instead of being reset away.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;
// Live connections beyond this get a 503 and are closed (issue 15).
constexpr std::size_t kMaxConnections = 32;

// MCP-Protocol-Version values a client may send (the versions initialize
// negotiates, control.md §11).
constexpr std::array<std::string_view, 4> kProtocolVersions = {"2025-11-25", "2025-06-18",
                                                               "2025-03-26", "2024-11-05"};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The token is the user's (any length), so unlike debug_token_equals the
// running time must not depend on the expected length either: it depends on
// the given length only, which the client knows anyway.
bool constant_time_equals(std::string_view expected, std::string_view given) {
  if (expected.empty()) return false;
  volatile unsigned char diff = expected.size() == given.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i)
    diff = diff | static_cast<unsigned char>(expected[i % expected.size()] ^ given[i]);
  return diff == 0;
}

bool is_port(std::string_view port) {
  // An empty port is allowed by RFC 3986 ("localhost:").
  if (port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

// The media type of a Content-Type / Accept element, without parameters.
std::string_view media_type(std::string_view value) {
  return trim(value.substr(0, value.find(';')));
}

// A quality of zero ("q=0", "q=0.000") says "not acceptable".
bool has_zero_quality(std::string_view params) {
  while (!params.empty()) {
    std::size_t semi = params.find(';');
    std::string_view param = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (param.size() < 2 || !iequals(param.substr(0, 2), "q=")) continue;
    std::string_view q = param.substr(2);
    return !q.empty() && q.front() == '0' && q.find_first_not_of("0.") == std::string_view::npos;
  }
  return false;
}

bool accepts_event_stream(std::string_view accept) {
  while (!accept.empty()) {
    std::size_t comma = accept.find(',');
    std::string_view element = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    if (!iequals(media_type(element), "text/event-stream")) continue;
    std::size_t semi = element.find(';');
    return semi == std::string_view::npos || !has_zero_quality(element.substr(semi + 1));
  }
  return false;
}

// A transport-level refusal (not a JSON-RPC answer).
struct Refusal {
  http::status status;
  std::string message;
  std::string allow;
};

std::string error_body(const std::string& message) {
  return to_compact_json(boost::json::object{{"error", message}});
}

bool is_null_id_error(const boost::json::object& response) {
  if (!response.contains("error")) return false;
  const auto* id = response.if_contains("id");
  return id == nullptr || id->is_null();
}

void log_failure(const char* what, std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    diagnostics::error("mcp http: " + std::string(what) + ": " + e.what());
  } catch (...) {
    diagnostics::error("mcp http: " + std::string(what) + ": unknown exception");
  }
}

// One request being handled: the handler fills it from its own coroutine,
// the connection drains it into the HTTP response. `wake` is cancelled
// whenever something new arrives.
struct Exchange {
  Exchange(const asio::any_io_executor& ex, bool stream_ok) : wake(ex), collect(stream_ok) {}

  void signal() { wake.cancel(); }

  asio::steady_timer wake;
  // Compact JSON of notifications not yet written.
  std::deque<std::string> notifications;
  std::optional<boost::json::object> response;
  bool done = false;
  bool failed = false;
  // Whether notifications are kept: the client accepts an event stream and
  // the connection is still there to carry them.
  bool collect;
};

asio::awaitable<void> run_handler(MessageHandler handler, std::string text,
                                  std::shared_ptr<Exchange> exchange) {
  std::weak_ptr<Exchange> weak = exchange;
  Notify notify = [weak](boost::json::object notification) {
    auto e = weak.lock();
    if (!e || !e->collect || e->done) return;
    e->notifications.push_back(to_compact_json(notification));
    e->signal();
  };
  try {
    std::optional<boost::json::object> result =
        co_await handler(std::move(text), std::move(notify));
    exchange->response = std::move(result);
  } catch (const std::exception& e) {
    diagnostics::error(std::string("mcp http: handler: ") + e.what());
    exchange->failed = true;
  } catch (...) {
    diagnostics::error("mcp http: handler: unknown exception");
    exchange->failed = true;
  }
  exchange->done = true;
  exchange->signal();
}

}  // namespace

bool bearer_token_matches(std::string_view expected, std::string_view authorization) {
  authorization = trim(authorization);
  std::size_t space = authorization.find_first_of(" \t");
  if (space == std::string_view::npos) return false;
  if (!iequals(authorization.substr(0, space), "bearer")) return false;
  return constant_time_equals(expected, trim(authorization.substr(space)));
}

bool is_loopback_host(std::string_view host) {
  std::string_view name;
  boost::system::error_code ec;
  if (!host.empty() && host.front() == '[') {
    std::size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    name = host.substr(1, close - 1);
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !is_port(rest.substr(1)))) return false;
    auto a = asio::ip::make_address_v6(std::string(name), ec);
    return !ec && is_loopback_address(asio::ip::address(a));
  }
  std::size_t colon = host.find(':');
  name = host.substr(0, colon);
  if (colon != std::string_view::npos && !is_port(host.substr(colon + 1))) return false;
  if (iequals(name, "localhost")) return true;
  auto a = asio::ip::make_address_v4(std::string(name), ec);
  return !ec && is_loopback_address(asio::ip::address(a));
}

bool is_loopback_origin(std::string_view origin) {
  constexpr std::string_view scheme = "http://";
  if (origin.size() <= scheme.size() || !iequals(origin.substr(0, scheme.size()), scheme))
    return false;
  std::string_view authority = origin.substr(scheme.size());
  // An origin has no path, query or user info.
  if (authority.find_first_of("/?#@") != std::string_view::npos) return false;
  return is_loopback_host(authority);
}

class McpHttpConnection;

struct McpHttpState {
  McpHttpState(const asio::any_io_executor& ex, MessageHandler h, std::string t)
      : acceptor(ex),
        accept_guard(ex, "mcp http", kMaxConnections, &http_refusal),
        handler(std::move(h)),
        token(std::move(t)) {}

  tcp::acceptor acceptor;
  AcceptGuard accept_guard;
  MessageHandler handler;
  std::string token;
  bool stopping = false;
  // Live connections; each is kept alive by its own coroutine.
  std::unordered_set<McpHttpConnection*> connections;
};

// One accepted connection: reads requests one at a time (keep-alive),
// checks them, hands the body to the handler and writes its answer as JSON
// or, once the handler notifies, as an event stream.
class McpHttpConnection : public std::enable_shared_from_this<McpHttpConnection> {
 public:
  McpHttpConnection(tcp::socket socket, std::shared_ptr<McpHttpState> state)
      : stream_(std::move(socket)), state_(std::move(state)) {}

  asio::awaitable<void> run();
  void close();

 private:
  using Parser = http::request_parser<http::string_body>;
  using Request = http::request<http::string_body>;

  std::optional<Refusal> check(const Request& req) const;
  asio::awaitable<void> refuse(Refusal refusal, unsigned version, bool body_pending);
  asio::awaitable<void> write(http::status status, std::string content_type, std::string body,
                              unsigned version, bool keep_alive, boost::system::error_code& ec);
  // Runs the handler for `text` and writes its answer; false when the
  // connection cannot carry another request.
  asio::awaitable<bool> answer(std::string text, unsigned version, bool keep_alive, bool stream_ok);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<McpHttpState> state_;
  std::shared_ptr<Exchange> exchange_;
};

std::optional<Refusal> McpHttpConnection::check(const Request& req) const {
  // The token first: without it a client learns nothing, not even whether
  // its Host or Origin would pass.
  if (!bearer_token_matches(state_->token, req[http::field::authorization]))
    return Refusal{http::status::unauthorized, "unauthorized", ""};
  // DNS rebinding: a browser page on a foreign name reaching 127.0.0.1.
  if (!is_loopback_host(req[http::field::host]))
    return Refusal{http::status::forbidden, "forbidden: Host is not a loopback host", ""};
  if (req.find(http::field::origin) != req.end() && !is_loopback_origin(req[http::field::origin]))
    return Refusal{http::status::forbidden, "forbidden: Origin is not http:// on loopback", ""};

  std::string_view target = req.target();
  if (target.substr(0, target.find('?')) != "/mcp")
    return Refusal{http::status::not_found, "not found", ""};
  // Stateless: no GET event stream and no session to DELETE.
  if (req.method() != http::verb::post)
    return Refusal{http::status::method_not_allowed, "method not allowed", "POST"};

  auto version = req.find("MCP-Protocol-Version");
  if (version != req.end()) {
    std::string_view v = trim(version->value());
    if (std::find(kProtocolVersions.begin(), kProtocolVersions.end(), v) == kProtocolVersions.end())
      return Refusal{http::status::bad_request,
                     "unsupported MCP-Protocol-Version \"" + std::string(v) + "\"", ""};
  }
  if (!iequals(media_type(req[http::field::content_type]), "application/json"))
    return Refusal{http::status::unsupported_media_type, "Content-Type must be application/json",
                   ""};
  return std::nullopt;
}

asio::awaitable<void> McpHttpConnection::run() {
  [[maybe_unused]] auto self = shared_from_this();  // alive until the loop ends
  state_->connections.insert(this);
  struct Unregister {
    McpHttpState& state;
    McpHttpConnection* conn;
    ~Unregister() { state.connections.erase(conn); }
  } unregister{*state_, this};

  boost::system::error_code ec;
  while (!state_->stopping) {
    Parser parser;
    parser.header_limit(kMaxHeaderBytes);
    // The body limit is applied after the checks, so that an oversized body
    // without a token is still a 401.
    parser.body_limit(boost::none);
    stream_.expires_after(kHeaderTimeout);
    co_await http::async_read_header(stream_, buffer_, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (state_->stopping) break;
    if (ec == http::error::header_limit) {
      Refusal too_large{http::status::request_header_fields_too_large, "request header too large",
                        ""};
      co_await refuse(std::move(too_large), 11, true);
      break;
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      Refusal bad{http::status::bad_request, "bad request", ""};
      co_await refuse(std::move(bad), 11, true);
      break;
    }
    if (ec) break;  // the peer went away or timed out: nobody to answer

    const Request& req = parser.get();
    const unsigned version = req.version();
    std::optional<Refusal> refusal = check(req);
    if (!refusal && parser.content_length() && *parser.content_length() > kMaxMessageBytes)
      refusal = Refusal{http::status::payload_too_large,
                        "message exceeds " + std::to_string(kMaxMessageBytes) + " bytes", ""};
    if (refusal) {
      co_await refuse(std::move(*refusal), version, !parser.is_done());
      break;
    }

    if (iequals(req[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, version};
      stream_.expires_after(kWriteTimeout);
      co_await http::async_write(stream_, cont, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || state_->stopping) break;
    }
    if (!parser.is_done()) {
      parser.body_limit(kMaxMessageBytes);  // a chunked body has no length up front
      stream_.expires_after(kBodyTimeout);
      co_await http::async_read(stream_, buffer_, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (state_->stopping) break;
      if (ec == http::error::body_limit) {
        Refusal too_large{http::status::payload_too_large,
                          "message exceeds " + std::to_string(kMaxMessageBytes) + " bytes", ""};
        co_await refuse(std::move(too_large), version, true);
        break;
      }
      if (ec) break;
    }

    const bool keep_alive = req.keep_alive();
    const bool stream_ok = accepts_event_stream(req[http::field::accept]);
    std::string text = std::move(parser.get().body());
    const bool more = co_await answer(std::move(text), version, keep_alive, stream_ok);
    if (!more || !keep_alive) break;
  }
  close();
}

asio::awaitable<void> McpHttpConnection::refuse(Refusal refusal, unsigned version,
                                                bool body_pending) {
  // A refused request's body is never read, so the connection ends here.
  http::response<http::string_body> out{refusal.status, version};
  out.set(http::field::content_type, "application/json");
  out.set("X-Content-Type-Options", "nosniff");
  if (refusal.status == http::status::unauthorized)
    out.set(http::field::www_authenticate, "Bearer");
  if (!refusal.allow.empty()) out.set(http::field::allow, refusal.allow);
  out.body() = error_body(refusal.message);
  out.keep_alive(false);
  out.prepare_payload();
  boost::system::error_code ec;
  stream_.expires_after(kWriteTimeout);
  co_await http::async_write(stream_, out, asio::redirect_error(asio::use_awaitable, ec));
  if (ec || !body_pending || state_->stopping) co_return;

  // Closing with unread bytes would reset the connection and could destroy
  // the refusal before the client reads it: say we are done sending, then
  // drain what the client still sends, for a bounded time.
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(kLingerTimeout);
  std::array<char, 16 * 1024> scratch;
  while (!ec && !state_->stopping)
    co_await stream_.async_read_some(asio::buffer(scratch),
                                     asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> McpHttpConnection::write(http::status status, std::string content_type,
                                               std::string body, unsigned version, bool keep_alive,
                                               boost::system::error_code& ec) {
  http::response<http::string_body> out{status, version};
  if (!content_type.empty()) out.set(http::field::content_type, content_type);
  out.set("X-Content-Type-Options", "nosniff");
  out.body() = std::move(body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  stream_.expires_after(kWriteTimeout);
  co_await http::async_write(stream_, out, asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<bool> McpHttpConnection::answer(std::string text, unsigned version, bool keep_alive,
                                                bool stream_ok) {
  auto exchange = std::make_shared<Exchange>(stream_.get_executor(), stream_ok);
  exchange_ = exchange;
  struct Forget {
    McpHttpConnection& conn;
    Exchange& exchange;
    ~Forget() {
      exchange.collect = false;  // nobody writes what comes after
      conn.exchange_.reset();
    }
  } forget{*this, *exchange};
  asio::co_spawn(stream_.get_executor(), run_handler(state_->handler, std::move(text), exchange),
                 [](std::exception_ptr e) { log_failure("handler", e); });

  // HTTP/1.0 has no chunked coding: an event stream then ends the connection.
  const bool chunked = version >= 11;
  bool streaming = false;
  boost::system::error_code ec;
  std::string frames;
  for (;;) {
    if (state_->stopping) co_return false;
    if (!exchange->notifications.empty()) {
      if (!streaming) {
        // The first notification turns the answer into an event stream.
        http::response<http::empty_body> head{http::status::ok, version};
        head.set(http::field::content_type, "text/event-stream");
        head.set(http::field::cache_control, "no-cache");
        head.set("X-Content-Type-Options", "nosniff");
        head.keep_alive(keep_alive && chunked);
        head.chunked(chunked);
        http::response_serializer<http::empty_body> serializer{head};
        stream_.expires_after(kWriteTimeout);
        co_await http::async_write_header(stream_, serializer,
                                          asio::redirect_error(asio::use_awaitable, ec));
        if (ec || state_->stopping) co_return false;
        streaming = true;
      }
      frames.clear();
      while (!exchange->notifications.empty()) {
        frames += "event: message\ndata: ";
        frames += exchange->notifications.front();
        frames += "\n\n";
        exchange->notifications.pop_front();
      }
      stream_.expires_after(kWriteTimeout);
      if (chunked)
        co_await asio::async_write(stream_, http::make_chunk(asio::buffer(frames)),
                                   asio::redirect_error(asio::use_awaitable, ec));
      else
        co_await asio::async_write(stream_, asio::buffer(frames),
                                   asio::redirect_error(asio::use_awaitable, ec));
      if (ec || state_->stopping) co_return false;
      continue;
    }
    if (exchange->done) break;
    exchange->wake.expires_at(asio::steady_timer::time_point::max());
    co_await exchange->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  if (streaming) {
    // The response is the stream's last event. A failed handler has none;
    // the stream just ends.
    frames.clear();
    if (exchange->response) {
      frames = "event: message\ndata: ";
      append_compact_json(frames, *exchange->response);
      frames += "\n\n";
    }
    stream_.expires_after(kWriteTimeout);
    if (!chunked) {
      co_await asio::async_write(stream_, asio::buffer(frames),
                                 asio::redirect_error(asio::use_awaitable, ec));
      co_return false;
    }
    if (!frames.empty())
      co_await asio::async_write(stream_, http::make_chunk(asio::buffer(frames)),
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    co_await asio::async_write(stream_, http::make_chunk_last(),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec && keep_alive;
  }

  // Built as locals: g++ 12 mishandles temporaries in co_await arguments.
  http::status status = http::status::ok;
  std::string content_type = "application/json";
  std::string body;
  if (exchange->failed) {
    status = http::status::internal_server_error;
    body = error_body("internal error");
  } else if (!exchange->response) {
    // A notification or a response from the client: accepted, nothing to say.
    status = http::status::accepted;
    content_type.clear();
  } else {
    // An error that could not name a request (parse error, not a request
    // object) is the client's fault at the HTTP level too.
    if (is_null_id_error(*exchange->response)) status = http::status::bad_request;
    body = to_compact_json(*exchange->response);
  }
  co_await write(status, std::move(content_type), std::move(body), version, keep_alive, ec);
  co_return !ec;
}

void McpHttpConnection::close() {
  if (exchange_) {
    exchange_->collect = false;
    exchange_->signal();
  }
  boost::system::error_code ignored;  // the peer may have gone already
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

namespace {

std::string endpoint_text(const tcp::endpoint& ep) {
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

asio::awaitable<void> accept_loop(std::shared_ptr<McpHttpState> state) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await state->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and the like: shed the queue and back off instead of spinning.
      co_await state->accept_guard.pause_after(ec, state->acceptor.native_handle());
      if (state->stopping) co_return;
      continue;
    }
    if (!state->accept_guard.admit(socket.native_handle(), state->connections.size())) continue;
    auto conn = std::make_shared<McpHttpConnection>(std::move(socket), state);
    asio::co_spawn(state->acceptor.get_executor(), conn->run(),
                   [](std::exception_ptr e) { log_failure("connection", e); });
  }
}

}  // namespace

McpHttpServer::McpHttpServer(asio::io_context& io, MessageHandler handler, std::string token)
    : io_(io) {
  if (token.empty()) throw std::invalid_argument("the MCP HTTP bearer token must not be empty");
  state_ = std::make_shared<McpHttpState>(io.get_executor(), std::move(handler), std::move(token));
}

McpHttpServer::~McpHttpServer() { stop(); }

void McpHttpServer::start(const std::string& address) {
  if (started_ || state_->stopping)
    throw std::logic_error("the MCP HTTP server can be started only once");
  tcp::endpoint ep = resolve_debug_address(address, system_host_lookup(io_));

  auto& acceptor = state_->acceptor;
  boost::system::error_code ec;
  auto fail = [&](const char* step) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    throw std::runtime_error(std::string(step) + " " + endpoint_text(ep) + ": " + ec.message());
  };
  if (acceptor.open(ep.protocol(), ec); ec) fail("open socket for");
  // Lets a restarted server rebind a port whose old connections are in
  // TIME_WAIT.
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) fail("configure");
  if (acceptor.bind(ep, ec); ec) fail("listen on");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) fail("listen on");
  local_ = acceptor.local_endpoint(ec);
  if (ec) fail("read the bound address of");

  started_ = true;
  asio::co_spawn(io_, accept_loop(state_),
                 [](std::exception_ptr e) { log_failure("listener", e); });
}

void McpHttpServer::stop() {
  if (state_->stopping) return;
  state_->stopping = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  state_->accept_guard.cancel();
  // close() only cancels; completions run later, but walk a copy anyway.
  std::vector<McpHttpConnection*> live(state_->connections.begin(), state_->connections.end());
  for (auto* c : live) c->close();
}

}  // namespace avenor::host::mcp
