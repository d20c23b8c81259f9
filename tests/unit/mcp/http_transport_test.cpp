// In-process tests of the MCP Streamable HTTP transport: a real server on
// 127.0.0.1:0 with a fake message handler, raw HTTP clients as coroutines on
// the same loop.
#include "mcp/http_transport.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../host/test_support.hpp"

namespace avenor::host::mcp {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::ip::tcp;
using Response = http::response<http::string_body>;
using test::run_until;

const std::string kToken = "s3cret-token-of-some-length";

// Fails the running client coroutine (ASSERT_* cannot co_return).
void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("requirement failed: " + what);
}

// One HTTP request, written byte for byte as given.
struct Request {
  std::string method = "POST";
  std::string target = "/mcp";
  // Header lines in order; Content-Length is added from the body unless
  // `content_length` is set (then the body is sent as given, maybe short).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::uint64_t> content_length;

  void set(const std::string& name, const std::string& value) {
    for (auto& h : headers)
      if (h.first == name) {
        h.second = value;
        return;
      }
    headers.emplace_back(name, value);
  }
  void erase(const std::string& name) {
    std::erase_if(headers, [&](const auto& h) { return h.first == name; });
  }
  std::string text() const {
    std::string out = method + " " + target + " HTTP/1.1\r\n";
    for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
    out += "Content-Length: " + std::to_string(content_length.value_or(body.size())) + "\r\n\r\n";
    return out + body;
  }
};

// A JSON-RPC call as an MCP client sends it.
Request call(const std::string& body) {
  Request r;
  r.headers = {{"Host", "127.0.0.1:3748"},
               {"Authorization", "Bearer " + kToken},
               {"Content-Type", "application/json"},
               {"Accept", "application/json, text/event-stream"}};
  r.body = body;
  return r;
}

std::string rpc(const std::string& method, int id = 1) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":")" + method + "\"}";
}

// A client connection; requests go out one at a time on it.
class Client {
 public:
  explicit Client(tcp::socket socket) : stream_(std::move(socket)) {}

  static asio::awaitable<Client> connect(tcp::endpoint server) {
    tcp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(server, asio::use_awaitable);
    co_return Client(std::move(socket));
  }

  asio::awaitable<void> send(Request req) {
    std::string bytes = req.text();
    co_await send_raw(std::move(bytes));
  }
  asio::awaitable<void> send_raw(std::string bytes) {
    co_await asio::async_write(stream_, asio::buffer(bytes), asio::use_awaitable);
  }

  // Reads one whole response (an event stream to its end).
  asio::awaitable<Response> read() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    co_await http::async_read(stream_, buffer_, parser, asio::use_awaitable);
    co_return parser.release();
  }

  asio::awaitable<Response> exchange(Request req) {
    co_await send(std::move(req));
    Response res = co_await read();
    co_return res;
  }

  // Starts reading a response: the head, then body bytes as they come.
  asio::awaitable<void> read_head() {
    parser_ = std::make_unique<http::response_parser<http::string_body>>();
    parser_->body_limit(boost::none);
    co_await http::async_read_header(stream_, buffer_, *parser_, asio::use_awaitable);
  }
  asio::awaitable<void> read_body_until(std::string marker) {
    while (parser_->get().body().find(marker) == std::string::npos) {
      require(!parser_->is_done(), "the response ended before \"" + marker + "\"");
      co_await http::async_read_some(stream_, buffer_, *parser_, asio::use_awaitable);
    }
  }
  asio::awaitable<Response> read_rest() {
    if (!parser_->is_done())
      co_await http::async_read(stream_, buffer_, *parser_, asio::use_awaitable);
    co_return parser_->release();
  }
  const std::string& body_so_far() const { return parser_->get().body(); }

  // Whether the server closes the connection (EOF or reset) from here.
  asio::awaitable<bool> closed_by_peer() {
    char byte;
    boost::system::error_code ec;
    co_await stream_.socket().async_read_some(asio::buffer(&byte, 1),
                                              asio::redirect_error(asio::use_awaitable, ec));
    co_return ec.failed();
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::unique_ptr<http::response_parser<http::string_body>> parser_;  // not movable
};

asio::awaitable<Response> one_request(tcp::endpoint server, Request req) {
  Client c = co_await Client::connect(server);
  Response res = co_await c.exchange(std::move(req));
  co_return res;
}

// The SSE events of a body: each "event: message\ndata: <json>\n\n".
std::vector<json::value> sse_events(const std::string& body) {
  std::vector<json::value> out;
  std::size_t pos = 0;
  const std::string prefix = "event: message\ndata: ";
  while (pos < body.size()) {
    std::size_t end = body.find("\n\n", pos);
    require(end != std::string::npos, "unterminated event in: " + body);
    std::string frame = body.substr(pos, end - pos);
    require(frame.starts_with(prefix), "event format: " + frame);
    std::string data = frame.substr(prefix.size());
    require(data.find('\n') == std::string::npos, "one data line: " + frame);
    out.push_back(json::parse(data));
    pos = end + 2;
  }
  return out;
}

json::object progress(int n) {
  return json::object{{"jsonrpc", "2.0"},
                      {"method", "notifications/progress"},
                      {"params", json::object{{"progressToken", "t"}, {"progress", n}}}};
}

class McpHttpTransportTest : public ::testing::Test {
 protected:
  McpHttpTransportTest() : gate(io) { gate.expires_at(asio::steady_timer::time_point::max()); }

  void SetUp() override {
    server.start("127.0.0.1:0");
    endpoint = server.local_endpoint();
  }

  void TearDown() override {
    gate.cancel();
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

  // The fake McpServer: parse error for non-JSON, nullopt for a message
  // without id; methods "progress" (two notifications, then the result),
  // "gated" (one notification, waits for the gate, another), "throw".
  asio::awaitable<std::optional<json::object>> handle(std::string text, Notify notify) {
    received.push_back(text);
    boost::system::error_code ec;
    json::value parsed = json::parse(text, ec);
    if (ec || !parsed.is_object()) {
      json::object error{{"code", -32700}, {"message", "Parse error"}};
      co_return json::object{{"jsonrpc", "2.0"}, {"id", nullptr}, {"error", std::move(error)}};
    }
    json::object msg = parsed.as_object();
    if (!msg.contains("id")) co_return std::nullopt;
    const std::string method(msg.at("method").as_string());
    if (method == "throw") throw std::runtime_error("handler failure");
    if (method == "progress") {
      notify(progress(1));
      notify(progress(2));
    }
    if (method == "gated") {
      notify(progress(1));
      ++gated_waiting;
      co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      notify(progress(2));
    }
    json::object result{{"method", method}};
    co_return json::object{{"jsonrpc", "2.0"}, {"id", msg.at("id")}, {"result", std::move(result)}};
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

  // A request expected to be refused before the handler sees it.
  void expect_refused(Request req, http::status status, const std::string& what) {
    client([&]() -> asio::awaitable<void> {
      Response res = co_await one_request(endpoint, req);
      EXPECT_EQ(res.result(), status) << what;
      EXPECT_EQ(res[http::field::content_type], "application/json") << what;
      EXPECT_TRUE(json::parse(res.body()).as_object().contains("error")) << what;
    });
    EXPECT_TRUE(received.empty()) << what;
  }

  asio::io_context io;
  asio::steady_timer gate;
  int gated_waiting = 0;
  std::vector<std::string> received;
  McpHttpServer server{io, [this](std::string t, Notify n) { return handle(std::move(t), n); },
                       kToken};
  tcp::endpoint endpoint;
};

TEST(McpHttpChecks, BearerToken) {
  EXPECT_TRUE(bearer_token_matches("abc", "Bearer abc"));
  EXPECT_TRUE(bearer_token_matches("abc", "bearer abc"));
  EXPECT_TRUE(bearer_token_matches("abc", "BEARER   abc "));
  EXPECT_FALSE(bearer_token_matches("abc", "Bearer abd"));
  EXPECT_FALSE(bearer_token_matches("abc", "Bearer ab"));
  EXPECT_FALSE(bearer_token_matches("abc", "Bearer abcd"));
  EXPECT_FALSE(bearer_token_matches("abc", "Bearer "));
  EXPECT_FALSE(bearer_token_matches("abc", "abc"));
  EXPECT_FALSE(bearer_token_matches("abc", "Basic abc"));
  EXPECT_FALSE(bearer_token_matches("abc", "Bearerabc"));
  EXPECT_FALSE(bearer_token_matches("abc", ""));
  EXPECT_FALSE(bearer_token_matches("", "Bearer "));
}

TEST(McpHttpChecks, LoopbackHost) {
  for (const char* ok : {"127.0.0.1", "127.0.0.1:3748", "127.8.9.10:1", "localhost", "LocalHost:80",
                         "[::1]", "[::1]:3748", "[::ffff:127.0.0.1]:1"})
    EXPECT_TRUE(is_loopback_host(ok)) << ok;
  for (const char* bad : {"", "example.com", "example.com:3748", "10.0.0.1", "0.0.0.0:3748",
                          "[::]:80", "::1", "[::1", "[::1]x", "127.0.0.1:port", "127.0.0.1:99999",
                          "localhost.example.com", "127.0.0.1.example.com", "localhost:1:2"})
    EXPECT_FALSE(is_loopback_host(bad)) << bad;
}

TEST(McpHttpChecks, LoopbackOrigin) {
  for (const char* ok : {"http://localhost", "http://localhost:6274", "http://127.0.0.1:3748",
                         "http://[::1]:80", "HTTP://LOCALHOST"})
    EXPECT_TRUE(is_loopback_origin(ok)) << ok;
  for (const char* bad : {"", "null", "https://localhost", "https://127.0.0.1:3748",
                          "http://example.com", "http://localhost.example.com", "http://localhost/",
                          "http://user@localhost", "http://", "localhost:3748", "ws://localhost"})
    EXPECT_FALSE(is_loopback_origin(bad)) << bad;
}

TEST_F(McpHttpTransportTest, BindsTheLoopbackAddress) {
  EXPECT_EQ(endpoint.address().to_string(), "127.0.0.1");
  EXPECT_NE(endpoint.port(), 0);
}

TEST_F(McpHttpTransportTest, RequestGetsJson) {
  client([&]() -> asio::awaitable<void> {
    Response res = co_await one_request(endpoint, call(rpc("tools/list", 7)));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_EQ(res.count("Mcp-Session-Id"), 0u);
    EXPECT_EQ(json::parse(res.body()), json::parse(R"({"jsonrpc":"2.0","id":7,
                                                       "result":{"method":"tools/list"}})"));
  });
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0], rpc("tools/list", 7));
}

TEST_F(McpHttpTransportTest, NotificationIs202) {
  client([&]() -> asio::awaitable<void> {
    Response res = co_await one_request(
        endpoint, call(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
    EXPECT_EQ(res.result(), http::status::accepted);
    EXPECT_EQ(res.body(), "");
  });
  EXPECT_EQ(received.size(), 1u);
}

TEST_F(McpHttpTransportTest, ParseErrorIs400WithTheJsonRpcError) {
  client([&]() -> asio::awaitable<void> {
    Response res = co_await one_request(endpoint, call("{not json"));
    EXPECT_EQ(res.result(), http::status::bad_request);
    auto body = json::parse(res.body()).as_object();
    EXPECT_TRUE(body.at("id").is_null());
    EXPECT_EQ(body.at("error").at("code"), -32700);
  });
}

TEST_F(McpHttpTransportTest, ContentTypeParametersAreTolerated) {
  client([&]() -> asio::awaitable<void> {
    Request req = call(rpc("ping"));
    req.set("Content-Type", "Application/JSON; charset=utf-8");
    Response res = co_await one_request(endpoint, req);
    EXPECT_EQ(res.result(), http::status::ok);
  });
}

TEST_F(McpHttpTransportTest, NotificationsStreamAsServerSentEvents) {
  client([&]() -> asio::awaitable<void> {
    Response res = co_await one_request(endpoint, call(rpc("progress", 3)));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::content_type], "text/event-stream");
    auto events = sse_events(res.body());
    require(events.size() == 3, "three events in: " + res.body());
    EXPECT_EQ(events[0], progress(1));
    EXPECT_EQ(events[1], progress(2));
    EXPECT_EQ(events[2].at("id"), 3);
    EXPECT_EQ(events[2].at("result").at("method"), "progress");
  });
}

TEST_F(McpHttpTransportTest, EventsAreSentAsTheyHappen) {
  client([&]() -> asio::awaitable<void> {
    Client c = co_await Client::connect(endpoint);
    co_await c.send(call(rpc("gated", 4)));
    co_await c.read_head();
    // The first notification arrives while the handler is still waiting.
    co_await c.read_body_until("\n\n");
    EXPECT_EQ(gated_waiting, 1);
    auto first = sse_events(c.body_so_far());
    require(first.size() == 1, "one event before the gate opens: " + c.body_so_far());
    EXPECT_EQ(first[0], progress(1));
    gate.cancel();
    Response res = co_await c.read_rest();
    EXPECT_EQ(res[http::field::content_type], "text/event-stream");
    auto events = sse_events(res.body());
    require(events.size() == 3, "three events in: " + res.body());
    EXPECT_EQ(events[1], progress(2));
    EXPECT_EQ(events[2].at("id"), 4);

    // The stream ended properly: the connection carries the next request.
    Response next = co_await c.exchange(call(rpc("ping", 5)));
    EXPECT_EQ(next.result(), http::status::ok);
    EXPECT_EQ(json::parse(next.body()).at("id"), 5);
  });
}

TEST_F(McpHttpTransportTest, NotificationsAreDroppedWithoutEventStreamAccept) {
  client([&]() -> asio::awaitable<void> {
    Request req = call(rpc("progress", 3));
    req.set("Accept", "application/json");
    Response res = co_await one_request(endpoint, req);
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_EQ(json::parse(res.body()).at("id"), 3);

    req.set("Accept", "application/json, text/event-stream;q=0");
    Response refused = co_await one_request(endpoint, req);
    EXPECT_EQ(refused[http::field::content_type], "application/json");
  });
}

TEST_F(McpHttpTransportTest, HandlerFailureIs500) {
  client([&]() -> asio::awaitable<void> {
    Response res = co_await one_request(endpoint, call(rpc("throw")));
    EXPECT_EQ(res.result(), http::status::internal_server_error);
  });
}

TEST_F(McpHttpTransportTest, KeepAliveServesSeveralRequests) {
  client([&]() -> asio::awaitable<void> {
    Client c = co_await Client::connect(endpoint);
    for (int id = 1; id <= 3; ++id) {
      Response res = co_await c.exchange(call(rpc("ping", id)));
      EXPECT_EQ(res.result(), http::status::ok);
      EXPECT_EQ(json::parse(res.body()).at("id"), id);
    }
  });
  EXPECT_EQ(received.size(), 3u);
}

TEST_F(McpHttpTransportTest, RequestsAreHandledConcurrently) {
  client([&]() -> asio::awaitable<void> {
    Client slow = co_await Client::connect(endpoint);
    co_await slow.send(call(rpc("gated", 1)));
    co_await slow.read_head();
    // While the gated call waits, another connection is served.
    Response fast = co_await one_request(endpoint, call(rpc("ping", 2)));
    EXPECT_EQ(fast.result(), http::status::ok);
    EXPECT_EQ(gated_waiting, 1);
    gate.cancel();
    Response res = co_await slow.read_rest();
    EXPECT_EQ(sse_events(res.body()).size(), 3u);
  });
}

TEST_F(McpHttpTransportTest, MissingTokenIs401) {
  client([&]() -> asio::awaitable<void> {
    Request req = call(rpc("ping"));
    req.erase("Authorization");
    Response res = co_await one_request(endpoint, req);
    EXPECT_EQ(res.result(), http::status::unauthorized);
    EXPECT_EQ(res[http::field::www_authenticate], "Bearer");
    EXPECT_EQ(json::parse(res.body()), json::parse(R"({"error":"unauthorized"})"));
  });
  EXPECT_TRUE(received.empty());
}

TEST_F(McpHttpTransportTest, WrongTokenIs401) {
  for (std::string value : {std::string("Bearer wrong"), "Bearer " + kToken + "x",
                            "Basic " + kToken, kToken, "Bearer " + kToken.substr(1)}) {
    Request req = call(rpc("ping"));
    req.set("Authorization", value);
    expect_refused(req, http::status::unauthorized, value);
  }
}

TEST_F(McpHttpTransportTest, LowercaseBearerIsAccepted) {
  client([&]() -> asio::awaitable<void> {
    Request req = call(rpc("ping"));
    req.set("Authorization", "bearer " + kToken);
    Response res = co_await one_request(endpoint, req);
    EXPECT_EQ(res.result(), http::status::ok);
  });
}

TEST_F(McpHttpTransportTest, ForeignHostIs403) {
  for (std::string host : {"example.com", "example.com:3748", "192.168.1.1:3748", ""}) {
    Request req = call(rpc("ping"));
    req.set("Host", host);
    expect_refused(req, http::status::forbidden, host);
  }
  Request localhost = call(rpc("ping"));
  localhost.set("Host", "localhost:3748");
  client([&]() -> asio::awaitable<void> {
    Response res = co_await one_request(endpoint, localhost);
    EXPECT_EQ(res.result(), http::status::ok);
  });
}

TEST_F(McpHttpTransportTest, ForeignHostWithoutTokenIs401) {
  Request req = call(rpc("ping"));
  req.set("Host", "example.com");
  req.erase("Authorization");
  expect_refused(req, http::status::unauthorized, "no token");
}

TEST_F(McpHttpTransportTest, ForeignOriginIs403) {
  for (std::string origin :
       {"http://example.com", "https://localhost:3748", "null", "http://attacker.example:3748"}) {
    Request req = call(rpc("ping"));
    req.set("Origin", origin);
    expect_refused(req, http::status::forbidden, origin);
  }
}

TEST_F(McpHttpTransportTest, LoopbackOriginIsAllowed) {
  client([&]() -> asio::awaitable<void> {
    Request req = call(rpc("ping"));
    req.set("Origin", "http://localhost:6274");
    Response res = co_await one_request(endpoint, req);
    EXPECT_EQ(res.result(), http::status::ok);
  });
}

TEST_F(McpHttpTransportTest, UnknownPathIs404) {
  Request req = call(rpc("ping"));
  req.target = "/other";
  expect_refused(req, http::status::not_found, "/other");
  req.target = "/mcp/x";
  expect_refused(req, http::status::not_found, "/mcp/x");
}

TEST_F(McpHttpTransportTest, OtherMethodsAre405) {
  for (std::string method : {"GET", "DELETE", "PUT"}) {
    client([&]() -> asio::awaitable<void> {
      Request req = call("");
      req.method = method;
      Response res = co_await one_request(endpoint, req);
      EXPECT_EQ(res.result(), http::status::method_not_allowed) << method;
      EXPECT_EQ(res[http::field::allow], "POST") << method;
    });
  }
  EXPECT_TRUE(received.empty());
}

TEST_F(McpHttpTransportTest, WrongContentTypeIs415) {
  for (std::string type : {"text/plain", "application/jsonx", ""}) {
    Request req = call(rpc("ping"));
    if (type.empty())
      req.erase("Content-Type");
    else
      req.set("Content-Type", type);
    expect_refused(req, http::status::unsupported_media_type, type);
  }
}

TEST_F(McpHttpTransportTest, UnsupportedProtocolVersionIs400) {
  Request req = call(rpc("ping"));
  req.set("MCP-Protocol-Version", "1999-01-01");
  expect_refused(req, http::status::bad_request, "1999-01-01");
  req.set("MCP-Protocol-Version", "2025-06-18");
  client([&]() -> asio::awaitable<void> {
    Response res = co_await one_request(endpoint, req);
    EXPECT_EQ(res.result(), http::status::ok);
  });
}

TEST_F(McpHttpTransportTest, OversizeBodyIs413WithoutReadingIt) {
  Request req = call("");
  // Only the head is sent: the answer must not wait for the body.
  req.content_length = kMaxMessageBytes + 1;
  expect_refused(req, http::status::payload_too_large, "content-length over the limit");
}

TEST_F(McpHttpTransportTest, OversizeBodySentWholeStillGetsThe413) {
  client([&]() -> asio::awaitable<void> {
    // The client writes everything before reading: the server must drain
    // the body it refused rather than reset the connection under it.
    Client c = co_await Client::connect(endpoint);
    co_await c.send(call(std::string(kMaxMessageBytes + 1, ' ')));
    Response res = co_await c.read();
    EXPECT_EQ(res.result(), http::status::payload_too_large);
    EXPECT_FALSE(res.keep_alive());
  });
  EXPECT_TRUE(received.empty());
}

TEST_F(McpHttpTransportTest, BodyAtTheLimitIsHandled) {
  client([&]() -> asio::awaitable<void> {
    std::string body = rpc("ping", 9);
    body.resize(kMaxMessageBytes, ' ');  // JSON may end in whitespace
    Response res = co_await one_request(endpoint, call(body));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(json::parse(res.body()).at("id"), 9);
  });
}

TEST_F(McpHttpTransportTest, ExpectContinueIsHonoured) {
  client([&]() -> asio::awaitable<void> {
    Client c = co_await Client::connect(endpoint);
    Request req = call(rpc("ping", 6));
    req.set("Expect", "100-continue");
    const std::string body = req.body;
    std::string head = req.text();
    head.resize(head.size() - body.size());
    co_await c.send_raw(std::move(head));
    Response cont = co_await c.read();
    EXPECT_EQ(cont.result(), http::status::continue_);
    std::string rest = body;
    co_await c.send_raw(std::move(rest));
    Response res = co_await c.read();
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(json::parse(res.body()).at("id"), 6);
  });
}

TEST_F(McpHttpTransportTest, OversizeChunkedBodyIs413) {
  client([&]() -> asio::awaitable<void> {
    Client c = co_await Client::connect(endpoint);
    std::string head = "POST /mcp HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + kToken +
                       "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string size_line = (std::stringstream() << std::hex << kMaxMessageBytes + 1).str();
    std::string bytes = head + size_line + "\r\n";
    co_await c.send_raw(std::move(bytes));
    Response res = co_await c.read();
    EXPECT_EQ(res.result(), http::status::payload_too_large);
  });
  EXPECT_TRUE(received.empty());
}

TEST_F(McpHttpTransportTest, StopClosesConnections) {
  client([&]() -> asio::awaitable<void> {
    Client idle = co_await Client::connect(endpoint);
    co_await idle.exchange(call(rpc("ping", 1)));
    Client busy = co_await Client::connect(endpoint);
    co_await busy.send(call(rpc("gated", 2)));
    co_await busy.read_head();
    server.stop();
    server.stop();  // idempotent
    EXPECT_TRUE(co_await idle.closed_by_peer());
    co_await busy.read_body_until("\n\n");  // what was sent before stop()
    EXPECT_TRUE(co_await busy.closed_by_peer());
  });
}

TEST(McpHttpServerStart, NonLoopbackBindIsRefused) {
  asio::io_context io;
  MessageHandler handler = [](std::string, Notify) -> asio::awaitable<std::optional<json::object>> {
    co_return std::nullopt;
  };
  for (const char* address : {"0.0.0.0:0", "10.1.2.3:0", "[::]:0", "no-port"}) {
    McpHttpServer server(io, handler, "t");
    EXPECT_THROW(server.start(address), std::runtime_error) << address;
  }
  EXPECT_THROW(McpHttpServer(io, handler, ""), std::invalid_argument);
}

}  // namespace
}  // namespace avenor::host::mcp
