// A stand-in for `avenor stable` in MCP unit tests: a Unix socket speaking
// newline-delimited JSON-RPC 2.0 (control.md §2) on the test's event loop,
// answering each request from a handler the test supplies.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace avenor::host::test {

class FakeSupervisor {
 public:
  // Thrown by a handler: answered as a JSON-RPC error object.
  struct Error {
    int code;
    std::string message;
  };
  using Handler = std::function<boost::json::value(const std::string& method,
                                                   const boost::json::object& params)>;
  using Socket = boost::asio::local::stream_protocol::socket;

  FakeSupervisor(boost::asio::io_context& io, const std::string& path, Handler handler)
      : acceptor_(io, boost::asio::local::stream_protocol::endpoint(path)),
        handler_(std::move(handler)) {
    boost::asio::co_spawn(io, accept_loop(), boost::asio::detached);
  }

  // After the reply now being written: stop listening and drop every
  // connection, like a supervisor that exited.
  void stop_after_reply() { stop_after_reply_ = true; }

  // Every request's method, in arrival order, and the params of each.
  const std::vector<std::string>& methods() const { return methods_; }
  std::vector<boost::json::object> params_of(const std::string& method) const {
    std::vector<boost::json::object> out;
    for (std::size_t i = 0; i < methods_.size(); ++i)
      if (methods_[i] == method) out.push_back(params_[i]);
    return out;
  }

 private:
  void stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& weak : connections_)
      if (auto s = weak.lock()) s->close(ec);
  }

  boost::asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] =
          co_await acceptor_.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) co_return;
      auto s = std::make_shared<Socket>(std::move(socket));
      connections_.push_back(s);
      boost::asio::co_spawn(acceptor_.get_executor(), serve(s), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> serve(std::shared_ptr<Socket> s) {
    namespace asio = boost::asio;
    namespace json = boost::json;
    std::string buffer;
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = co_await asio::async_read_until(
          *s, asio::dynamic_buffer(buffer), '\n', asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      const std::string line = buffer.substr(0, n - 1);
      buffer.erase(0, n);
      json::object request = json::parse(line).as_object();
      const json::value* id = request.if_contains("id");
      if (id == nullptr || id->is_null()) continue;
      const std::string method(request.at("method").as_string());
      const json::value* p = request.if_contains("params");
      const json::object params =
          (p != nullptr && p->is_object()) ? p->as_object() : json::object{};
      methods_.push_back(method);
      params_.push_back(params);
      json::object response{{"jsonrpc", "2.0"}, {"id", *id}};
      try {
        response["result"] = handler_(method, params);
      } catch (const Error& e) {
        response["error"] = json::object{{"code", e.code}, {"message", e.message}};
      }
      const std::string out = json::serialize(response) + "\n";
      co_await asio::async_write(*s, asio::buffer(out),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (stop_after_reply_) {
        stop_after_reply_ = false;
        stop();
      }
      if (ec) co_return;
    }
  }

  boost::asio::local::stream_protocol::acceptor acceptor_;
  Handler handler_;
  std::vector<std::weak_ptr<Socket>> connections_;
  std::vector<std::string> methods_;
  std::vector<boost::json::object> params_;
  bool stop_after_reply_ = false;
};

}  // namespace avenor::host::test
