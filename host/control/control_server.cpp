#include "control/control_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include "control/rpc_error.hpp"
#include "util/json_text.hpp"

namespace avenor::host {

namespace asio = boost::asio;
using boost::json::object;
using boost::json::value;

namespace {

std::string error_frame(const value& id, int code, const std::string& message,
                        const std::optional<value>& data = std::nullopt) {
  object error{{"code", code}, {"message", message}};
  if (data) error["data"] = *data;
  return to_compact_json(object{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}});
}

std::string result_frame(const value& id, value result) {
  return to_compact_json(object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
}

}  // namespace

class ControlServer::Call : public CallContext {
 public:
  Call(ControlServer& server, ControlConnection& conn, std::vector<std::function<void()>>& after)
      : server_(server), conn_(conn), after_(after) {}
  void after_response(std::function<void()> action) override {
    after_.push_back(std::move(action));
  }
  ControlConnection& connection() override { return conn_; }
  void claim_owner() override {
    if (server_.owner_ == 0) server_.owner_ = conn_.id();
    if (server_.owner_ != conn_.id())
      throw RpcError(rpc_code::permission_denied, "permission_denied");
  }

 private:
  ControlServer& server_;
  ControlConnection& conn_;
  std::vector<std::function<void()>>& after_;
};

ControlServer::ControlServer(asio::io_context& io, const std::filesystem::path& path,
                             ControlMethods& methods)
    : io_(io),
      binding_(io, path),
      methods_(methods),
      accept_guard_(io.get_executor(), "control socket", kMaxConnections,
                    [](const std::string& reason) {
                      return error_frame(nullptr, rpc_code::handler_error, reason) + "\n";
                    }) {}

ControlServer::~ControlServer() { stop(std::chrono::milliseconds(0)); }

void ControlServer::start() { asio::co_spawn(io_, accept_loop(), asio::detached); }

asio::awaitable<void> ControlServer::accept_loop() {
  while (!stopped_) {
    boost::system::error_code ec;
    auto socket =
        co_await binding_.acceptor().async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) break;
      // A failed accept (e.g. EMFILE) must neither end the server nor spin.
      co_await accept_guard_.pause_after(ec, binding_.acceptor().native_handle());
      continue;
    }
    if (!accept_guard_.admit(socket.native_handle(), connections_.size())) continue;
    auto conn = std::make_shared<ControlConnection>(
        std::move(socket), next_id_++,
        [this](ControlConnection& c, std::string_view line) { return handle(c, line); },
        [this](ControlConnection& c) { connection_closed(c); });
    connections_.insert(conn);
    methods_.connection_opened(*conn);
    conn->start();
  }
}

void ControlServer::connection_closed(ControlConnection& conn) {
  if (owner_ == conn.id()) owner_ = 0;
  in_flight_.erase(conn.id());
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->get() == &conn) {
      auto keep = *it;  // the connection outlives its own erase
      connections_.erase(it);
      methods_.connection_closed(conn);
      break;
    }
  }
}

void ControlServer::stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  accept_guard_.cancel();
  binding_.release();
  auto conns = connections_;
  for (auto& c : conns) c->stop(grace);
}

asio::awaitable<void> ControlServer::handle(ControlConnection& conn, std::string_view line) {
  std::vector<std::function<void()>> after;
  auto frame = co_await respond(conn, line, after);
  if (frame) conn.send(std::move(*frame));
  for (auto& action : after) action();
}

asio::awaitable<std::optional<std::string>> ControlServer::respond(
    ControlConnection& conn, std::string_view line, std::vector<std::function<void()>>& after) {
  boost::system::error_code ec;
  value parsed = boost::json::parse(line, ec);
  if (ec) co_return error_frame(nullptr, rpc_code::parse_error, "parse error");
  if (!parsed.is_object())
    co_return error_frame(nullptr, rpc_code::invalid_request, "invalid request");
  object& request = parsed.get_object();

  value id = nullptr;
  if (const auto* v = request.if_contains("id")) id = *v;
  const bool notification = id.is_null();
  if (!notification && !id.is_string() && !id.is_number())
    co_return error_frame(nullptr, rpc_code::invalid_request, "invalid request");
  const auto* version = request.if_contains("jsonrpc");
  const auto* method = request.if_contains("method");
  if (!version || !version->is_string() || version->get_string() != "2.0" || !method ||
      !method->is_string()) {
    if (notification) co_return std::nullopt;
    co_return error_frame(id, rpc_code::invalid_request, "invalid request");
  }

  std::optional<std::string> frame;
  try {
    object params;
    if (const auto* p = request.if_contains("params"); p && !p->is_null()) {
      if (!p->is_object()) throw RpcError::invalid_params();
      params = p->get_object();
    }
    std::string name(method->get_string());
    if (methods_.is_async(name)) {
      run_async(conn, std::move(name), std::move(params), id, notification);
      co_return std::nullopt;
    }
    Call call(*this, conn, after);
    value result = co_await methods_.call(call, name, params);
    frame = result_frame(id, std::move(result));
  } catch (const RpcError& e) {
    after.clear();
    frame = error_frame(id, e.code(), e.what(), e.data());
  } catch (const std::exception& e) {
    after.clear();
    frame = error_frame(id, rpc_code::handler_error, e.what());
  }
  if (notification) co_return std::nullopt;
  co_return frame;
}

void ControlServer::run_async(ControlConnection& conn, std::string method, object params, value id,
                              bool notification) {
  // Checked before anything runs: a connection gets at most this many.
  constexpr int kMaxInFlight = 8;
  int& count = in_flight_[conn.id()];
  if (count >= kMaxInFlight) {
    if (!notification)
      conn.send(error_frame(id, rpc_code::handler_error,
                            "too many in-flight " + method + " requests on this connection"));
    return;
  }
  ++count;
  auto keep = conn.shared_from_this();
  asio::co_spawn(
      io_,
      [this, keep, method = std::move(method), params = std::move(params), id,
       notification]() -> asio::awaitable<void> {
        std::vector<std::function<void()>> after;
        std::string frame;
        try {
          Call call(*this, *keep, after);
          value result = co_await methods_.call(call, method, params);
          frame = result_frame(id, std::move(result));
        } catch (const RpcError& e) {
          frame = error_frame(id, e.code(), e.what(), e.data());
        } catch (const std::exception& e) {
          frame = error_frame(id, rpc_code::handler_error, e.what());
        }
        if (auto it = in_flight_.find(keep->id()); it != in_flight_.end() && it->second > 0)
          --it->second;
        // A dropped connection abandons the call without a response (§3).
        if (!notification && !stopped_) keep->send(std::move(frame));
      },
      asio::detached);
}

}  // namespace avenor::host
