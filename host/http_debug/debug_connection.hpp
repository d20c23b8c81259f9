// One accepted HTTP debug connection: reads requests one at a time, applies
// the per-request checks of control.md §9 (method → token → peer), answers
// the routes, and turns GET /events into a server-sent event stream.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "http_debug/debug_routes.hpp"
#include "http_debug/debug_target.hpp"
#include "http_debug/request_target.hpp"
#include "util/accept_guard.hpp"

namespace avenor::host {

class DebugConnection;

// Shared by the listener and its connections; kept alive by whichever of
// them finishes last, so the server object may go away while a connection
// is still in its grace period.
struct DebugServerState {
  // Live connections beyond this get a 503 and are closed (issue 15).
  static constexpr std::size_t kMaxConnections = 32;

  DebugServerState(const boost::asio::any_io_executor& ex, DebugTarget& t)
      : acceptor(ex),
        accept_guard(ex, "http debug", kMaxConnections, &http_refusal),
        grace(ex),
        target(t) {}

  boost::asio::ip::tcp::acceptor acceptor;
  AcceptGuard accept_guard;
  boost::asio::steady_timer grace;
  // Never called once `stopping` is set (the target may be gone by then).
  DebugTarget& target;
  std::string token;
  bool stopping = false;
  // Live connections; each is kept alive by its own coroutine.
  std::unordered_set<DebugConnection*> connections;
};

// Completion handler for co_spawn that reports an escaping exception instead
// of dropping it.
void log_debug_failure(const char* what, std::exception_ptr error);

class DebugConnection : public std::enable_shared_from_this<DebugConnection> {
 public:
  DebugConnection(boost::asio::ip::tcp::socket socket, std::shared_ptr<DebugServerState> state);

  boost::asio::awaitable<void> run();

  // The server is stopping: a connection waiting for a request closes now, an
  // event stream ends, a response being written finishes first.
  void begin_stop();
  // The grace period is over.
  void force_close();

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  enum class Phase { reading, writing, streaming };

  std::optional<DebugResponse> check(const Request& req, const std::optional<RequestTarget>& target,
                                     const DebugRouteMatch& match) const;
  // `head`: a reply to HEAD, sent without its body.
  boost::asio::awaitable<void> write(const DebugResponse& res, unsigned version, bool keep_alive,
                                     bool head, boost::system::error_code& ec);
  boost::asio::awaitable<void> stream_events(unsigned version, const std::string& runtime_filter);
  boost::asio::awaitable<void> watch_peer(std::shared_ptr<DebugConnection> self);
  void close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<DebugServerState> state_;
  Phase phase_ = Phase::reading;
  std::shared_ptr<EventSubscription> subscription_;
};

}  // namespace avenor::host
