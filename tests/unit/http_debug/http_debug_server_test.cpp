// In-process tests of the HTTP debug adapter: a real server on 127.0.0.1:0,
// clients on the same loop, a ControlPlane with a fake run behind it.
#include "http_debug/http_debug_server.hpp"

#include <gtest/gtest.h>

#include "http_debug/permission_answer.hpp"
#include "http_debug_test_support.hpp"

namespace avenor::host::test {
namespace {

using Verb = http::verb;

boost::json::object json_body(const Response& res) {
  return boost::json::parse(res.body()).as_object();
}

boost::json::object event(std::string name, std::int64_t seq, std::string runtime_id = "") {
  boost::json::object e{
      {"event", std::move(name)}, {"seq", seq}, {"run_id", "run-1"}, {"ts", 1700000000000 + seq}};
  if (!runtime_id.empty()) e["runtime_id"] = std::move(runtime_id);
  return e;
}

class HttpDebugServerTest : public HttpDebugFixture {};

TEST_F(HttpDebugServerTest, TokenIs32Hex) {
  ASSERT_EQ(server.token().size(), 32u);
  EXPECT_EQ(server.token().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(endpoint.port(), 0);
  EXPECT_EQ(endpoint.address().to_string(), "127.0.0.1");
}

TEST_F(HttpDebugServerTest, StatusIsTheSnapshot) {
  plane.publish(event("agent.status", 1));
  client([&]() -> asio::awaitable<void> {
    Response res = co_await http_request(endpoint, Verb::get, "/status", with_token());
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::content_type], "application/json");
    auto status = json_body(res);
    EXPECT_EQ(status.at("run_id"), "run-1");
    EXPECT_EQ(status.at("run_label"), "label-1");
    EXPECT_EQ(status.at("pending_permission"), false);
    EXPECT_EQ(status.at("last_event"), "agent.status");
    EXPECT_EQ(status.at("latest_seq"), 1);
    EXPECT_TRUE(status.contains("started_at"));
    EXPECT_TRUE(res.body().ends_with("}\n"));
  });
}

TEST_F(HttpDebugServerTest, StatusBoundsFinalOutput) {
  auto end = event("session.end", 1);
  end["final_output"] = std::string(5000, 'x');
  plane.publish(end);
  client([&]() -> asio::awaitable<void> {
    auto status = json_body(co_await http_request(endpoint, Verb::get, "/status", with_token()));
    EXPECT_EQ(status.at("final_output").as_string().size(), 4096u);
    EXPECT_EQ(status.at("final_output_truncated"), true);
  });
}

TEST_F(HttpDebugServerTest, RuntimeRoutesAreNotFoundOnARun) {
  client([&]() -> asio::awaitable<void> {
    for (auto [verb, target] :
         {std::pair{Verb::get, "/status/rt-1"}, std::pair{Verb::get, "/status/"},
          std::pair{Verb::post, "/cancel/rt-1"}}) {
      Response res = co_await http_request(endpoint, verb, target, with_token());
      EXPECT_EQ(res.result(), http::status::not_found) << target;
      EXPECT_EQ(res.body(), "not found\n") << target;
      EXPECT_EQ(res[http::field::content_type], "text/plain; charset=utf-8");
    }
  });
  EXPECT_EQ(run.cancels, 0);
}

TEST_F(HttpDebugServerTest, CancelReachesTheRun) {
  client([&]() -> asio::awaitable<void> {
    Response res = co_await http_request(endpoint, Verb::post, "/cancel", with_token());
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(json_body(res), (boost::json::object{{"ok", true}}));
  });
  EXPECT_EQ(run.cancels, 1);
}

TEST_F(HttpDebugServerTest, AnswerPermissionMapsTheRunsAnswer) {
  client([&]() -> asio::awaitable<void> {
    Response ok = co_await http_request(
        endpoint, Verb::post, "/answer-permission",
        with_token(R"({"request_id":"req-1","option_id":"once","message":"go ahead"})"));
    EXPECT_EQ(ok.result(), http::status::ok);
    EXPECT_EQ(json_body(ok), (boost::json::object{{"accepted", true}}));

    run.answer_status = AnswerStatus::no_pending;
    Response none = co_await http_request(endpoint, Verb::post, "/answer-permission",
                                          with_token(R"({"request_id":"r2","option_id":"o"})"));
    EXPECT_EQ(none.result(), http::status::conflict);
    EXPECT_EQ(none.body(), "no pending permission\n");

    run.answer_status = AnswerStatus::delegated;
    Response delegated =
        co_await http_request(endpoint, Verb::post, "/answer-permission",
                              with_token(R"({"request_id":"r3","option_id":"o","message":null})"));
    EXPECT_EQ(delegated.result(), http::status::conflict);
    EXPECT_EQ(delegated.body(), "permission handling delegated to provider\n");
  });
  ASSERT_EQ(run.answers.size(), 3u);
  EXPECT_EQ(run.answers[0], std::make_tuple(std::string("req-1"), std::string("once"),
                                            std::optional<std::string>("go ahead")));
  EXPECT_EQ(std::get<0>(run.answers[1]), "r2");
  EXPECT_FALSE(std::get<2>(run.answers[1]).has_value());
  EXPECT_FALSE(std::get<2>(run.answers[2]).has_value());
}

TEST_F(HttpDebugServerTest, AnswerPermissionWithoutARunIsNoPending) {
  plane.attach(nullptr);
  client([&]() -> asio::awaitable<void> {
    Response res = co_await http_request(endpoint, Verb::post, "/answer-permission",
                                         with_token(R"({"request_id":"r","option_id":"o"})"));
    EXPECT_EQ(res.result(), http::status::conflict);
    EXPECT_EQ(res.body(), "no pending permission\n");
  });
}

TEST_F(HttpDebugServerTest, AnswerPermissionRejectsBadBodies) {
  const std::string ids = R"({"request_id":"r","option_id":"o","message":)";
  client([&]() -> asio::awaitable<void> {
    for (std::string body :
         {std::string("not json"), std::string("[1]"), std::string(R"({"request_id":"r"})"),
          std::string(R"({"request_id":7,"option_id":"o"})")}) {
      Response res =
          co_await http_request(endpoint, Verb::post, "/answer-permission", with_token(body));
      EXPECT_EQ(res.result(), http::status::bad_request) << body;
      EXPECT_EQ(res.body(), "invalid json\n") << body;
    }
    for (std::string body :
         {ids + "5}", ids + "\"bad \xff\"}",
          ids + "\"" + std::string(kMaxPermissionMessageBytes + 1, 'm') + "\"}"}) {
      Response res =
          co_await http_request(endpoint, Verb::post, "/answer-permission", with_token(body));
      EXPECT_EQ(res.result(), http::status::bad_request) << body.substr(0, 80);
      EXPECT_EQ(res.body(), "invalid permission message\n") << body.substr(0, 80);
    }
    // Exactly 64 KiB is allowed.
    Response limit = co_await http_request(
        endpoint, Verb::post, "/answer-permission",
        with_token(ids + "\"" + std::string(kMaxPermissionMessageBytes, 'm') + "\"}"));
    EXPECT_EQ(limit.result(), http::status::ok);
  });
  ASSERT_EQ(run.answers.size(), 1u);  // only the valid body reached the run
  EXPECT_EQ(std::get<2>(run.answers[0])->size(), kMaxPermissionMessageBytes);
}

TEST_F(HttpDebugServerTest, WrongMethodIs405BeforeTheToken) {
  client([&]() -> asio::awaitable<void> {
    for (auto [verb, target, allow] :
         {std::tuple{Verb::post, "/status", "GET"}, std::tuple{Verb::head, "/status", "GET"},
          std::tuple{Verb::delete_, "/status/x", "GET"}, std::tuple{Verb::post, "/events", "GET"},
          std::tuple{Verb::get, "/cancel", "POST"}, std::tuple{Verb::put, "/cancel/x", "POST"},
          std::tuple{Verb::get, "/answer-permission", "POST"}}) {
      // No token at all: the method check comes first.
      Response res = co_await http_request(endpoint, verb, target, no_token());
      EXPECT_EQ(res.result(), http::status::method_not_allowed) << target;
      EXPECT_EQ(res[http::field::allow], allow) << target;
      if (verb != Verb::head) {
        EXPECT_EQ(res.body(), "method not allowed\n") << target;
      }
    }
  });
  EXPECT_EQ(run.cancels, 0);
}

TEST_F(HttpDebugServerTest, TokenIsRequired) {
  client([&]() -> asio::awaitable<void> {
    const std::string wrong(32, '0');
    for (auto [verb, target] :
         {std::pair{Verb::get, "/status"}, std::pair{Verb::get, "/status/x"},
          std::pair{Verb::get, "/events"}, std::pair{Verb::post, "/cancel"},
          std::pair{Verb::post, "/cancel/x"}, std::pair{Verb::post, "/answer-permission"},
          std::pair{Verb::get, "/no-such-route"}}) {
      Response none = co_await http_request(endpoint, verb, target, no_token());
      EXPECT_EQ(none.result(), http::status::unauthorized) << target;
      EXPECT_EQ(none.body(), "unauthorized\n") << target;
      Response bad =
          co_await http_request(endpoint, verb, target, request_options(wrong, std::nullopt));
      EXPECT_EQ(bad.result(), http::status::unauthorized) << target;
    }
    // The query token counts on /events only.
    Response query =
        co_await http_request(endpoint, Verb::get, "/status?token=" + server.token(), no_token());
    EXPECT_EQ(query.result(), http::status::unauthorized);
    Response cancel =
        co_await http_request(endpoint, Verb::post, "/cancel?token=" + server.token(), no_token());
    EXPECT_EQ(cancel.result(), http::status::unauthorized);
  });
  EXPECT_EQ(run.cancels, 0);
}

TEST_F(HttpDebugServerTest, UnknownPathIs404AfterTheChecks) {
  client([&]() -> asio::awaitable<void> {
    for (const char* target : {"/", "/statusx", "/status/../cancel/", "/events/x"}) {
      Response res = co_await http_request(endpoint, Verb::get, target, with_token());
      // "/status/../cancel/" is a runtime id on /status/, not a path to clean.
      if (std::string_view(target).starts_with("/status/")) continue;
      EXPECT_EQ(res.result(), http::status::not_found) << target;
      EXPECT_EQ(res.body(), "not found\n") << target;
    }
  });
}

TEST_F(HttpDebugServerTest, PeerMustBeExactly127001) {
  const auto other = asio::ip::make_address("127.0.0.3");
  client([&]() -> asio::awaitable<void> {
    Response res = co_await http_request(endpoint, Verb::post, "/cancel",
                                         request_options(server.token(), other));
    EXPECT_EQ(res.result(), http::status::forbidden);
    EXPECT_EQ(res.body(), "forbidden\n");
    // The token check comes before the peer check.
    Response no_token =
        co_await http_request(endpoint, Verb::get, "/status", request_options(std::nullopt, other));
    EXPECT_EQ(no_token.result(), http::status::unauthorized);
    // ...and the method check before both.
    Response method =
        co_await http_request(endpoint, Verb::get, "/cancel", request_options(std::nullopt, other));
    EXPECT_EQ(method.result(), http::status::method_not_allowed);
    // The SSE route too, with the query token.
    Response events = co_await http_request(endpoint, Verb::get, "/events?token=" + server.token(),
                                            request_options(std::nullopt, other));
    EXPECT_EQ(events.result(), http::status::forbidden);
  });
  EXPECT_EQ(run.cancels, 0);
}

TEST_F(HttpDebugServerTest, KeepAliveServesSeveralRequests) {
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint);
    const std::string token = server.token();
    std::string two = "GET /status HTTP/1.1\r\nHost: x\r\nX-Avenor-Token: " + token +
                      "\r\n\r\nPOST /cancel HTTP/1.1\r\nHost: x\r\nX-Avenor-Token: " + token +
                      "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    co_await stream.send(two);
    co_await stream.read_raw_to_end();  // two plain replies, then close
    const std::string& raw = stream.raw();
    auto second = raw.find("HTTP/1.1 200 OK", 1);
    EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 OK")) << raw;
    EXPECT_NE(second, std::string::npos) << raw;
    EXPECT_NE(raw.find("{\"ok\":true}\n", second), std::string::npos) << raw;
  });
  EXPECT_EQ(run.cancels, 1);
}

TEST_F(HttpDebugServerTest, Expect100ContinueIsHonoured) {
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint);
    const std::string body = R"({"request_id":"r","option_id":"o"})";
    co_await stream.send(
        "POST /answer-permission HTTP/1.1\r\nHost: x\r\nX-Avenor-Token: " + server.token() +
        "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    std::string head = co_await stream.read_head();
    EXPECT_TRUE(head.starts_with("HTTP/1.1 100 Continue")) << head;
    co_await stream.send(body);
    head = co_await stream.read_head();
    EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK")) << head;

    // A refused request is answered without waiting for its body.
    auto refused = co_await RawStream::connect(endpoint);
    co_await refused.send(
        "POST /answer-permission HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        "Content-Length: 10\r\n\r\n");
    head = co_await refused.read_head();
    EXPECT_TRUE(head.starts_with("HTTP/1.1 401 Unauthorized")) << head;
  });
  EXPECT_EQ(run.answers.size(), 1u);
}

TEST_F(HttpDebugServerTest, MalformedRequestIs400) {
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint);
    co_await stream.send("NOT A REQUEST\r\n\r\n");
    std::string head = co_await stream.read_head();
    EXPECT_TRUE(head.starts_with("HTTP/1.1 400 Bad Request")) << head;
  });
}

TEST_F(HttpDebugServerTest, OversizeBodyIs413) {
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint);
    co_await stream.send("POST /answer-permission HTTP/1.1\r\nHost: x\r\nX-Avenor-Token: " +
                         server.token() + "\r\nContent-Length: 2000000\r\n\r\n");
    std::string head = co_await stream.read_head();
    EXPECT_TRUE(head.starts_with("HTTP/1.1 413 Payload Too Large")) << head;
  });
  EXPECT_TRUE(run.answers.empty());
}

TEST_F(HttpDebugServerTest, EventsOverHttp10EndWithTheConnection) {
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint);
    co_await stream.send("GET /events HTTP/1.0\r\nX-Avenor-Token: " + server.token() + "\r\n\r\n");
    std::string head = co_await stream.read_head();
    EXPECT_TRUE(head.starts_with("HTTP/1.0 200 OK\r\n")) << head;
    EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
    plane.publish(event("agent.status", 1));
    while (stream.raw().find("\n\n") == std::string::npos) co_await stream.read_more();
    EXPECT_EQ(frame_json(stream.raw()), event("agent.status", 1));
    server.stop();
    co_await stream.read_raw_to_end();
  });
}

TEST_F(HttpDebugServerTest, EventsStreamPublishedEvents) {
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint);
    co_await stream.send(events_request("/events", server.token()));
    std::string head = co_await stream.read_head();
    EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
    EXPECT_NE(head.find("Content-Type: text/event-stream\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("Cache-Control: no-cache\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("Connection: keep-alive\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << head;

    // The 200 came before any event: published now, delivered live.
    auto chunk = event("agent.message_chunk", 1);
    chunk["text"] = "line one\nline two";  // escaped: one data line per frame
    plane.publish(chunk);
    auto end = event("session.end", 2);
    end["final_output"] = std::string(5000, 'y');
    plane.publish(end);

    auto frames = co_await stream.read_frames(2);
    EXPECT_EQ(frame_json(frames[0]), chunk);
    auto bounded = frame_json(frames[1]);
    EXPECT_EQ(bounded.at("seq"), 2);
    EXPECT_EQ(bounded.at("final_output").as_string().size(), 4096u);
    EXPECT_EQ(bounded.at("final_output_truncated"), true);
    for (const auto& f : frames) EXPECT_EQ(f.find("id:"), std::string::npos) << f;
  });
}

TEST_F(HttpDebugServerTest, EventsDoNotReplayHistory) {
  plane.publish(event("agent.status", 1, "rt-a"));
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint);
    co_await stream.send(events_request("/events?runtime_id=rt-a", server.token()));
    co_await stream.read_head();
    plane.publish(event("agent.status", 2, "rt-a"));
    auto frames = co_await stream.read_frames(1);
    EXPECT_EQ(frame_json(frames[0]).at("seq"), 2);
  });
}

TEST_F(HttpDebugServerTest, EventsRuntimeFilterAndQueryToken) {
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint);
    co_await stream.send(events_request("/events?runtime_id=rt-b&token=" + server.token(), ""));
    std::string head = co_await stream.read_head();
    EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;

    auto all = co_await RawStream::connect(endpoint);
    co_await all.send(events_request("/events?token=" + server.token(), ""));
    co_await all.read_head();

    plane.publish(event("agent.status", 1, "rt-a"));
    plane.publish(event("agent.status", 1, "rt-b"));
    plane.publish(event("agent.status", 3));
    plane.publish(event("agent.status", 2, "rt-b"));

    auto filtered = co_await stream.read_frames(2);
    EXPECT_EQ(frame_json(filtered[0]).at("runtime_id"), "rt-b");
    EXPECT_EQ(frame_json(filtered[0]).at("seq"), 1);
    EXPECT_EQ(frame_json(filtered[1]).at("seq"), 2);
    auto everything = co_await all.read_frames(4);
    EXPECT_EQ(frame_json(everything[0]).at("runtime_id"), "rt-a");
    EXPECT_FALSE(frame_json(everything[2]).contains("runtime_id"));
  });
}

TEST_F(HttpDebugServerTest, SlowReaderLosesOldestEventsWithoutNotice) {
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint);
    co_await stream.send(events_request("/events", server.token()));
    co_await stream.read_head();
    // Published in one go: the queue keeps the newest 256.
    for (int i = 1; i <= 300; ++i) plane.publish(event("agent.message_chunk", i));
    auto frames = co_await stream.read_frames(256);
    EXPECT_EQ(frame_json(frames.front()).at("seq"), 45);
    EXPECT_EQ(frame_json(frames.back()).at("seq"), 300);
    for (const auto& f : frames) EXPECT_NE(frame_json(f).at("event"), "subscriber.lagged");
  });
}

TEST_F(HttpDebugServerTest, StopEndsStreamsAndIdleConnections) {
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint);
    co_await stream.send(events_request("/events", server.token()));
    co_await stream.read_head();

    // A keep-alive connection waiting for its next request.
    auto idle = co_await RawStream::connect(endpoint);
    co_await idle.send("GET /status HTTP/1.1\r\nHost: x\r\nX-Avenor-Token: " + server.token() +
                       "\r\n\r\n");
    co_await idle.read_head();

    server.stop();
    EXPECT_TRUE(co_await stream.read_to_end()) << "the stream should end with its last chunk";
    co_await idle.read_raw_to_end();

    // Nothing listens any more.
    tcp::socket late(co_await asio::this_coro::executor);
    boost::system::error_code ec;
    co_await late.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(ec, asio::error::connection_refused);
  });
}

TEST_F(HttpDebugServerTest, StopForceClosesAStuckStreamAfterTheGrace) {
  // A reader with a small window that stops reading, kept open past the
  // client coroutine: the server's write of the queued events cannot finish.
  std::optional<RawStream> stuck;
  client([&]() -> asio::awaitable<void> {
    auto stream = co_await RawStream::connect(endpoint, std::nullopt, 4096);
    co_await stream.send(events_request("/events", server.token()));
    co_await stream.read_head();
    auto big = event("agent.message_chunk", 1);
    big["text"] = std::string(128 * 1024, 'z');
    for (int i = 1; i <= 200; ++i) plane.publish(big);
    co_await stream.read_some_body();  // the 25 MiB write is now in flight
    stuck.emplace(std::move(stream));
  });
  ASSERT_TRUE(stuck);

  const auto t0 = std::chrono::steady_clock::now();
  server.stop();
  bool drained = run_until(
      io,
      [&] {
        io.restart();
        io.poll();
        return io.stopped();
      },
      std::chrono::seconds(8));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(drained) << "the stuck connection was not closed after the grace period";
  EXPECT_GE(elapsed, std::chrono::milliseconds(1900)) << "closed before the 2 s grace";
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(HttpDebugServerTest, StartErrors) {
  HttpDebugServer other(io, target);
  try {
    other.start("10.0.0.1:80");
    ADD_FAILURE() << "a non-loopback address was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "address 10.0.0.1 is not a loopback address");
  }
  HttpDebugServer clash(io, target);
  try {
    clash.start("127.0.0.1:" + std::to_string(endpoint.port()));
    ADD_FAILURE() << "bound a port in use";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "listen on 127.0.0.1:" + std::to_string(endpoint.port()) +
                                         ": Address already in use");
  }
}

}  // namespace
}  // namespace avenor::host::test
