#include "http_debug/debug_connection.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>

#include "http_debug/debug_token.hpp"
#include "util/diagnostics.hpp"
#include "util/json_text.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// A request (header and body) must arrive within this; it also closes idle
// keep-alive connections.
constexpr auto kReadTimeout = std::chrono::seconds(60);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
// Room for a 64 KiB permission message even when every byte is \u-escaped.
constexpr std::uint64_t kMaxBodyBytes = 1 << 20;

bool is_allowed_peer(const asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4() == asio::ip::address_v4::loopback();
  return a.to_v6() == asio::ip::address_v6::loopback();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// The answer to a request that could not be read, or nullopt when the peer
// is gone (EOF, reset, timeout, shutdown) and nobody would read one.
std::optional<DebugResponse> read_failure_response(const boost::system::error_code& ec) {
  if (ec == http::error::body_limit)
    return text_response(http::status::payload_too_large, "request body too large");
  if (ec == http::error::header_limit)
    return text_response(http::status::request_header_fields_too_large, "request header too large");
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_method).category())
    return text_response(http::status::bad_request, "bad request");
  return std::nullopt;
}

}  // namespace

void log_debug_failure(const char* what, std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    diagnostics::error("http debug: " + std::string(what) + ": " + e.what());
  } catch (...) {
    diagnostics::error("http debug: " + std::string(what) + ": unknown exception");
  }
}

DebugConnection::DebugConnection(tcp::socket socket, std::shared_ptr<DebugServerState> state)
    : stream_(std::move(socket)), state_(std::move(state)) {}

std::optional<DebugResponse> DebugConnection::check(const Request& req,
                                                    const std::optional<RequestTarget>& target,
                                                    const DebugRouteMatch& match) const {
  if (!target) return text_response(http::status::bad_request, "bad request");
  if (match.route != DebugRoute::unknown && req.method() != debug_route_method(match.route)) {
    auto res = text_response(http::status::method_not_allowed, "method not allowed");
    res.allow = std::string(http::to_string(debug_route_method(match.route)));
    return res;
  }

  bool authorized = debug_token_equals(state_->token, req["X-Avenor-Token"]);
  // EventSource cannot set headers, so /events alone takes the token from
  // the query (control.md §10.17 rule 5).
  if (!authorized && match.route == DebugRoute::events) {
    auto query_token = target->query_value("token");
    authorized = query_token && debug_token_equals(state_->token, *query_token);
  }
  if (!authorized) return text_response(http::status::unauthorized, "unauthorized");

  // The Host header is not consulted: only the socket's peer counts.
  boost::system::error_code ec;
  auto peer = stream_.socket().remote_endpoint(ec);
  if (ec || !is_allowed_peer(peer.address()))
    return text_response(http::status::forbidden, "forbidden");

  if (match.route == DebugRoute::unknown)
    return text_response(http::status::not_found, "not found");
  return std::nullopt;
}

asio::awaitable<void> DebugConnection::run() {
  [[maybe_unused]] auto self = shared_from_this();  // alive until the loop ends
  state_->connections.insert(this);
  struct Unregister {
    DebugServerState& state;
    DebugConnection* conn;
    ~Unregister() {
      state.connections.erase(conn);
      if (state.stopping && state.connections.empty()) state.grace.cancel();
    }
  } unregister{*state_, this};

  boost::system::error_code ec;
  while (!state_->stopping) {
    phase_ = Phase::reading;
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    stream_.expires_after(kReadTimeout);
    co_await http::async_read_header(stream_, buffer_, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (state_->stopping) break;
    if (ec) {
      if (auto res = read_failure_response(ec)) co_await write(*res, 11, false, false, ec);
      break;
    }

    const Request& req = parser.get();
    const bool head = req.method() == http::verb::head;
    const auto target = parse_request_target(req.target());
    const auto match = target ? match_debug_route(target->path) : DebugRouteMatch{};
    const auto refusal = check(req, target, match);

    if (iequals(req[http::field::expect], "100-continue")) {
      // The client holds its body back until told to send it; a refused
      // request is answered without it, and the connection cannot be reused.
      if (refusal) {
        co_await write(*refusal, req.version(), false, head, ec);
        break;
      }
      http::response<http::empty_body> cont{http::status::continue_, req.version()};
      phase_ = Phase::writing;
      co_await http::async_write(stream_, cont, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || state_->stopping) break;
      phase_ = Phase::reading;
    }
    // Read the whole body even of a refused request, so the connection stays
    // usable and closing it does not reset the refusal away.
    if (!parser.is_done()) {
      co_await http::async_read(stream_, buffer_, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (state_->stopping) break;
      if (ec) {
        if (auto res = read_failure_response(ec))
          co_await write(*res, req.version(), false, head, ec);
        break;
      }
    }

    const bool keep_alive = req.keep_alive();
    if (refusal) {
      co_await write(*refusal, req.version(), keep_alive, head, ec);
    } else if (match.route == DebugRoute::events) {
      const std::string filter = target->query_value("runtime_id").value_or("");
      co_await stream_events(req.version(), filter);
      break;
    } else {
      DebugResponse res = handle_debug_route(match, req.body(), state_->target);
      co_await write(res, req.version(), keep_alive, head, ec);
    }
    if (ec || !keep_alive) break;
  }
  close();
}

asio::awaitable<void> DebugConnection::write(const DebugResponse& res, unsigned version,
                                             bool keep_alive, bool head,
                                             boost::system::error_code& ec) {
  http::response<http::string_body> out{res.status, version};
  out.set(http::field::content_type, res.content_type);
  out.set("X-Content-Type-Options", "nosniff");
  if (!res.allow.empty()) out.set(http::field::allow, res.allow);
  out.body() = res.body;
  out.keep_alive(keep_alive && !state_->stopping);
  out.prepare_payload();
  if (head) out.body().clear();  // Content-Length stays: it describes the GET
  phase_ = Phase::writing;
  stream_.expires_after(kWriteTimeout);
  co_await http::async_write(stream_, out, asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> DebugConnection::stream_events(unsigned version,
                                                     const std::string& runtime_filter) {
  // Subscribe before the 200 goes out: an event published after the client
  // has the headers is then never missed.
  subscription_ = state_->target.subscribe(runtime_filter);
  phase_ = Phase::streaming;

  // HTTP/1.0 has no chunked coding: the stream then ends with the connection.
  const bool chunked = version >= 11;
  http::response<http::empty_body> head{http::status::ok, version};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set(http::field::connection, chunked ? "keep-alive" : "close");
  head.chunked(chunked);
  http::response_serializer<http::empty_body> serializer{head};
  stream_.expires_never();  // a quiet stream is not an idle connection
  boost::system::error_code ec;
  co_await http::async_write_header(stream_, serializer,
                                    asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    subscription_->close();
    co_return;
  }
  asio::co_spawn(stream_.get_executor(), watch_peer(shared_from_this()),
                 [](std::exception_ptr e) { log_debug_failure("event stream reader", e); });

  std::string frames;
  for (;;) {
    co_await subscription_->wait();
    if (subscription_->closed()) break;
    frames.clear();
    while (!subscription_->empty()) {
      frames += "event: event\ndata: ";
      append_compact_json(frames, *subscription_->pop());
      frames += "\n\n";
    }
    // SSE carries no lag notice (control.md §9); the count is discarded.
    (void)subscription_->take_dropped();
    if (chunked)
      co_await asio::async_write(stream_, http::make_chunk(asio::buffer(frames)),
                                 asio::redirect_error(asio::use_awaitable, ec));
    else
      co_await asio::async_write(stream_, asio::buffer(frames),
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  subscription_->close();
  if (!ec && chunked)
    co_await asio::async_write(stream_, http::make_chunk_last(),
                               asio::redirect_error(asio::use_awaitable, ec));
}

// An event stream only writes; a read that ends tells us the client has
// gone, so the stream stops now rather than at the next event.
// `self` keeps the connection alive while this reader runs.
asio::awaitable<void> DebugConnection::watch_peer(
    [[maybe_unused]] std::shared_ptr<DebugConnection> self) {
  std::array<char, 512> scratch;
  boost::system::error_code ec;
  while (!ec)
    co_await stream_.async_read_some(asio::buffer(scratch),
                                     asio::redirect_error(asio::use_awaitable, ec));
  if (subscription_) subscription_->close();
}

void DebugConnection::begin_stop() {
  switch (phase_) {
    case Phase::reading:
      close();
      break;
    case Phase::streaming:
      if (subscription_) subscription_->close();
      break;
    case Phase::writing:
      break;  // run() closes after the write, seeing `stopping`
  }
}

void DebugConnection::force_close() {
  if (subscription_) subscription_->close();
  close();
}

void DebugConnection::close() {
  boost::system::error_code ignored;  // the peer may have gone already
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
}

}  // namespace avenor::host
