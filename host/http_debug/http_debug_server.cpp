#include "http_debug/http_debug_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "http_debug/debug_address.hpp"
#include "http_debug/debug_connection.hpp"
#include "http_debug/debug_token.hpp"

namespace avenor::host {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kStopGrace = std::chrono::seconds(2);

std::string endpoint_text(const tcp::endpoint& ep) {
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

asio::awaitable<void> accept_loop(std::shared_ptr<DebugServerState> state) {
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
    auto conn = std::make_shared<DebugConnection>(std::move(socket), state);
    asio::co_spawn(state->acceptor.get_executor(), conn->run(),
                   [](std::exception_ptr e) { log_debug_failure("connection", e); });
  }
}

}  // namespace

HttpDebugServer::HttpDebugServer(asio::io_context& io, DebugTarget& target)
    : io_(io), state_(std::make_shared<DebugServerState>(io.get_executor(), target)) {}

HttpDebugServer::~HttpDebugServer() { stop(); }

void HttpDebugServer::start(const std::string& address) {
  if (started_ || state_->stopping)
    throw std::logic_error("the HTTP debug server can be started only once");
  tcp::endpoint ep = resolve_debug_address(address, system_host_lookup(io_));
  token_ = make_debug_token();
  state_->token = token_;

  auto& acceptor = state_->acceptor;
  boost::system::error_code ec;
  auto fail = [&](const char* step) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    throw std::runtime_error(std::string(step) + " " + endpoint_text(ep) + ": " + ec.message());
  };
  if (acceptor.open(ep.protocol(), ec); ec) fail("open socket for");
  // Lets a restarted run rebind a port whose old connections are in TIME_WAIT.
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) fail("configure");
  if (acceptor.bind(ep, ec); ec) fail("listen on");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) fail("listen on");
  local_ = acceptor.local_endpoint(ec);
  if (ec) fail("read the bound address of");

  started_ = true;
  asio::co_spawn(io_, accept_loop(state_),
                 [](std::exception_ptr e) { log_debug_failure("listener", e); });
}

void HttpDebugServer::stop() {
  if (state_->stopping) return;
  state_->stopping = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  state_->accept_guard.cancel();

  // begin_stop may close sockets; completions run later, but iterate over a
  // copy so the set is never touched while walking it.
  std::vector<DebugConnection*> live(state_->connections.begin(), state_->connections.end());
  for (auto* c : live) c->begin_stop();
  if (state_->connections.empty()) return;
  state_->grace.expires_after(kStopGrace);
  state_->grace.async_wait([state = state_](boost::system::error_code ec) {
    if (ec) return;  // every connection finished within the grace period
    std::vector<DebugConnection*> left(state->connections.begin(), state->connections.end());
    for (auto* c : left) c->force_close();
  });
}

}  // namespace avenor::host
