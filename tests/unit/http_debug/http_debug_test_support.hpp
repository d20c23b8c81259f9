// Client side of the HTTP debug adapter tests: plain Beast/Asio clients that
// run as coroutines on the same io_context as the server, and a fixture with
// a ControlPlane, a fake run behind it and a started server on 127.0.0.1:0.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "../host/test_support.hpp"
#include "control/control_plane.hpp"
#include "http_debug/http_debug_server.hpp"
#include "http_debug/run_debug_target.hpp"

namespace avenor::host::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Response = http::response<http::string_body>;

// Fails the running client coroutine (ASSERT_* cannot co_return).
inline void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("requirement failed: " + what);
}

// Records what the HTTP routes asked of the run.
class FakeRun : public RunCommands {
 public:
  void cancel() override { ++cancels; }
  void prompt(std::string) override {}
  void interrupt_and_prompt(std::string, bool) override {}
  AnswerStatus answer_permission(const std::string& request_id, const std::string& option_id,
                                 const std::optional<std::string>& message) override {
    answers.emplace_back(request_id, option_id, message);
    return answer_status;
  }
  void release_claim(const std::string&) override {}

  int cancels = 0;
  std::vector<std::tuple<std::string, std::string, std::optional<std::string>>> answers;
  AnswerStatus answer_status = AnswerStatus::accepted;
};

struct RequestOptions {
  std::optional<std::string> token;  // X-Avenor-Token
  std::string body;
  std::optional<asio::ip::address> source;  // bind the client to this address first
};

// Build options with these functions, never as a braced list in the call:
// g++ 12 destroys a braced-list (or defaulted) coroutine argument twice.
inline RequestOptions no_token() { return {}; }
inline RequestOptions request_options(std::optional<std::string> token,
                                      std::optional<asio::ip::address> source) {
  return RequestOptions{std::move(token), "", source};
}

// One request on a fresh connection.
inline asio::awaitable<Response> http_request(tcp::endpoint server, http::verb verb,
                                              std::string target, RequestOptions opt) {
  tcp::socket socket(co_await asio::this_coro::executor);
  socket.open(server.protocol());
  if (opt.source) socket.bind({*opt.source, 0});
  co_await socket.async_connect(server, asio::use_awaitable);
  beast::tcp_stream stream(std::move(socket));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (opt.token) req.set("X-Avenor-Token", *opt.token);
  if (!opt.body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = opt.body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(verb == http::verb::head);  // a reply to HEAD has no body
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  co_return parser.release();
}

// Reads a raw HTTP/1.1 response whose body is chunked (the SSE stream):
// the head first, then decoded body bytes as they arrive.
class RawStream {
 public:
  explicit RawStream(tcp::socket socket) : socket_(std::move(socket)) {}

  static asio::awaitable<RawStream> connect(tcp::endpoint server,
                                            std::optional<asio::ip::address> source = {},
                                            std::optional<int> receive_buffer = {}) {
    tcp::socket socket(co_await asio::this_coro::executor);
    socket.open(server.protocol());
    if (receive_buffer) socket.set_option(asio::socket_base::receive_buffer_size(*receive_buffer));
    if (source) socket.bind({*source, 0});
    co_await socket.async_connect(server, asio::use_awaitable);
    co_return RawStream(std::move(socket));
  }

  asio::awaitable<void> send(const std::string& bytes) {
    co_await asio::async_write(socket_, asio::buffer(bytes), asio::use_awaitable);
  }

  // Reads until the response head is complete and returns it.
  asio::awaitable<std::string> read_head() {
    std::size_t end;
    while ((end = raw_.find("\r\n\r\n")) == std::string::npos) co_await read_more();
    std::string head = raw_.substr(0, end + 4);
    raw_.erase(0, end + 4);
    co_return head;
  }

  // Reads until the decoded body holds `count` complete SSE frames.
  asio::awaitable<std::vector<std::string>> read_frames(std::size_t count) {
    for (;;) {
      decode();
      if (frames_.size() >= count) {
        std::vector<std::string> out(frames_.begin(), frames_.begin() + count);
        frames_.erase(frames_.begin(), frames_.begin() + count);
        co_return out;
      }
      require(!ended_, "the stream ended before the expected frames");
      co_await read_more();
    }
  }

  // Reads until the peer closes; returns whether the last chunk was seen.
  asio::awaitable<bool> read_to_end() {
    boost::system::error_code ec;
    while (!ec) {
      char buf[4096];
      std::size_t n = co_await socket_.async_read_some(
          asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      raw_.append(buf, n);
    }
    decode();
    co_return ended_;
  }

  // Reads until some bytes after the head have arrived (without decoding:
  // a chunk is not waited for in full).
  asio::awaitable<void> read_some_body() {
    while (raw_.empty()) co_await read_more();
  }

  // Reads until the peer closes, leaving the bytes undecoded in raw().
  asio::awaitable<void> read_raw_to_end() {
    boost::system::error_code ec;
    while (!ec) {
      char buf[4096];
      std::size_t n = co_await socket_.async_read_some(
          asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      raw_.append(buf, n);
    }
  }

  // Bytes received but not consumed as head (a plain, unchunked reply).
  const std::string& raw() const { return raw_; }
  tcp::socket& socket() { return socket_; }
  asio::awaitable<void> read_more() {
    char buf[65536];
    std::size_t n = co_await socket_.async_read_some(asio::buffer(buf), asio::use_awaitable);
    raw_.append(buf, n);
  }

 private:
  // Moves complete chunks from raw_ to body_, complete frames to frames_.
  void decode() {
    for (;;) {
      auto line_end = raw_.find("\r\n");
      if (line_end == std::string::npos) break;
      std::size_t size = std::stoul(raw_.substr(0, line_end), nullptr, 16);
      if (size == 0) {
        ended_ = true;
        raw_.erase(0, line_end + 2);
        break;
      }
      if (raw_.size() < line_end + 2 + size + 2) break;
      body_ += raw_.substr(line_end + 2, size);
      raw_.erase(0, line_end + 2 + size + 2);
    }
    std::size_t end;
    while ((end = body_.find("\n\n")) != std::string::npos) {
      frames_.push_back(body_.substr(0, end + 2));
      body_.erase(0, end + 2);
    }
  }

  tcp::socket socket_;
  std::string raw_;
  std::string body_;
  std::vector<std::string> frames_;
  bool ended_ = false;
};

// The JSON of an SSE frame "event: event\ndata: <json>\n\n" (checked exactly).
inline boost::json::object frame_json(const std::string& frame) {
  const std::string prefix = "event: event\ndata: ";
  require(frame.starts_with(prefix) && frame.ends_with("\n\n"), "frame format: " + frame);
  std::string data = frame.substr(prefix.size(), frame.size() - prefix.size() - 2);
  require(data.find('\n') == std::string::npos, "one data line: " + frame);
  return boost::json::parse(data).as_object();
}

inline std::string events_request(const std::string& target, const std::string& token_header) {
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token_header.empty()) req += "X-Avenor-Token: " + token_header + "\r\n";
  return req + "\r\n";
}

class HttpDebugFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    plane.attach(&run);
    server.start("127.0.0.1:0");
    endpoint = server.local_endpoint();
  }

  void TearDown() override {
    server.stop();
    // Everything the server started ends once it has stopped.
    EXPECT_TRUE(run_until(
        io,
        [&] {
          io.restart();
          io.poll();
          return io.stopped();
        },
        std::chrono::seconds(5)))
        << "the loop still had work 5 s after stop()";
  }

  // Runs one client coroutine on the loop, with a bound; rethrows its failure.
  void client(const std::function<asio::awaitable<void>()>& body,
              std::chrono::seconds limit = std::chrono::seconds(10)) {
    bool done = false;
    std::exception_ptr failure;
    asio::co_spawn(io, body(), [&](std::exception_ptr e) {
      failure = e;
      done = true;
    });
    ASSERT_TRUE(run_until(
        io, [&] { return done; }, limit))
        << "client did not finish within " << limit.count() << " s";
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        FAIL() << "client failed: " << e.what();
      }
    }
  }

  RequestOptions with_token(std::string body = "") const {
    return RequestOptions{server.token(), std::move(body), std::nullopt};
  }

  asio::io_context io;
  ControlPlane plane{io.get_executor(), "run-1", "label-1", "identity-1"};
  FakeRun run;
  RunDebugTarget target{plane};
  HttpDebugServer server{io, target};
  tcp::endpoint endpoint;
};

}  // namespace avenor::host::test
