#include "opencode-http/opencode_http_backend.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/basic_auth.hpp>
#include <avenor/sdk/json.hpp>
#include <memory>
#include <stdexcept>

#include "opencode-http/server_address.hpp"
#include "service_fake_host.hpp"

namespace {

namespace oh = avenor::opencode_http;
namespace json = avenor::sdk::json;
using avenor::test::ServiceFakeHost;
using Call = ServiceFakeHost::Call;

// The backend's own timer ids (opencode_http_backend.cpp).
constexpr std::uint64_t kHealthRetry = 1, kHealthDeadline = 2, kServerStart = 3,
                        kStreamReconnect = 4, kFirstSettleTimer = 100;

avenor::sdk::StartOptions url_options(std::string url = "http://127.0.0.1:4096") {
  avenor::sdk::StartOptions o;
  o.server_url = std::move(url);
  o.dir = ".";
  return o;
}

class OpencodeHttpBackendTest : public ::testing::Test {
 protected:
  void make(avenor::sdk::StartOptions options) {
    backend = std::make_unique<oh::OpencodeHttpBackend>(fake.host(), std::move(options));
  }

  Call& call(std::string_view method, std::string_view suffix) {
    Call* c = fake.find(method, suffix);
    if (!c)
      throw std::runtime_error("no open call " + std::string(method) + " …" + std::string(suffix));
    return *c;
  }

  // Start a session "ses_1" through health check and POST /session.
  void start(avenor::sdk::StartOptions options = url_options()) {
    make(std::move(options));
    backend->start_session(fake.op(), std::nullopt);
    start_op = fake.last_op();
    fake.respond(call("GET", "/global/health"), 200, R"({"healthy":true,"version":"1.18.33"})");
    fake.respond(call("POST", "/session"), 200, R"({"id":"ses_1","directory":"/p"})");
    ASSERT_TRUE(fake.is_completed(start_op)) << fake.failure(start_op);
  }

  Call& stream() { return call("GET", "/event"); }

  // Connect the stream and send a prompt; returns the message POST.
  Call& prompt(std::string text = "hello") {
    fake.sse(stream(), R"({"id":"e0","type":"server.connected","properties":{}})");
    backend->prompt(fake.op(), "ses_1", text);
    prompt_op = fake.last_op();
    return call("POST", "/session/ses_1/message");
  }

  void status(std::string_view type, std::string_view session = "ses_1") {
    fake.sse(stream(), std::string(R"({"type":"session.status","properties":{"sessionID":")") +
                           std::string(session) + R"(","status":{"type":")" + std::string(type) +
                           R"("}}})");
  }

  ServiceFakeHost fake;
  std::unique_ptr<oh::OpencodeHttpBackend> backend;
  std::uint64_t start_op = 0, prompt_op = 0;
};

constexpr const char* kFinished =
    R"({"info":{"finish":"stop","tokens":{"total":13,"input":10,"output":3,"cache":{"read":0}}},"parts":[{"type":"text","text":"OC-FAKE-REPLY"}]})";

TEST_F(OpencodeHttpBackendTest, UrlModeLaunchesNothing) {
  make(url_options());
  EXPECT_TRUE(backend->launch().argv.empty());
  EXPECT_FALSE(backend->managed());
}

TEST_F(OpencodeHttpBackendTest, DirMustBeEmptyOrDotWithAUrl) {
  auto o = url_options();
  o.dir = "/tmp";
  EXPECT_THROW(make(o), std::invalid_argument);
  o.dir = "";
  EXPECT_NO_THROW(make(o));
  EXPECT_THROW(make(url_options("https://h:1")), std::invalid_argument);
}

TEST_F(OpencodeHttpBackendTest, ManagedModeLaunchesOpencodeServeInTheDir) {
  avenor::sdk::StartOptions o;
  o.dir = "/tmp/project/";
  make(o);
  auto spec = backend->launch();
  EXPECT_EQ(spec.argv, oh::managed_server_argv());
  EXPECT_EQ(spec.argv[0], "opencode");
  EXPECT_EQ(spec.argv[1], "serve");
  EXPECT_EQ(spec.cwd, "/tmp/project");
}

TEST_F(OpencodeHttpBackendTest, ManagedModeWaitsForTheListeningLine) {
  make(avenor::sdk::StartOptions{});
  backend->launch();
  backend->start_session(fake.op(), std::nullopt);
  EXPECT_TRUE(fake.calls.empty());
  EXPECT_TRUE(fake.timers.contains(kServerStart));
  backend->on_bytes("Warning: OPENCODE_SERVER_PASSWORD is not set\nopencode server listening on ");
  EXPECT_TRUE(fake.calls.empty());
  backend->on_bytes("http://127.0.0.1:39999\n");
  EXPECT_FALSE(fake.timers.contains(kServerStart));
  EXPECT_EQ(call("GET", "/global/health").url(), "http://127.0.0.1:39999/global/health");
}

TEST_F(OpencodeHttpBackendTest, ManagedServerSilentTooLongFailsTheStart) {
  make(avenor::sdk::StartOptions{});
  backend->start_session(fake.op(), std::nullopt);
  backend->on_bytes("some error\n");
  backend->on_timer(kServerStart);
  EXPECT_EQ(fake.failure(fake.last_op()),
            "opencode serve did not announce its URL within 60s (output: some error)");
}

TEST_F(OpencodeHttpBackendTest, ManagedServerExitFailsWhatWaits) {
  make(avenor::sdk::StartOptions{});
  backend->start_session(fake.op(), std::nullopt);
  backend->on_bytes("Error: port in use\n");
  backend->on_closed("process exited with status 1");
  EXPECT_EQ(fake.failure(fake.last_op()),
            "opencode serve exited: process exited with status 1 (output: Error: port in use)");
}

TEST_F(OpencodeHttpBackendTest, UserinfoBecomesAnAuthorizationHeaderOnEveryRequest) {
  start(url_options("http://opencode:s3cret@127.0.0.1:4096/"));
  for (const Call& c : fake.calls) {
    EXPECT_EQ(c.url().find("s3cret"), std::string::npos) << c.url();
    EXPECT_EQ(c.header("authorization"), "Basic " + avenor::sdk::base64_encode("opencode:s3cret"));
  }
  EXPECT_EQ(stream().url(), "http://127.0.0.1:4096/event");
  EXPECT_TRUE(stream().stream());
  for (const auto& line : fake.logs) EXPECT_EQ(line.find("s3cret"), std::string::npos) << line;
}

TEST_F(OpencodeHttpBackendTest, HealthCheckRetriesThenGivesUpAtTheLimit) {
  make(url_options());
  backend->start_session(fake.op(), std::nullopt);
  fake.fail(call("GET", "/global/health"), "HTTP request failed: Connection refused");
  EXPECT_EQ(fake.timers.at(kHealthRetry), 50u);
  backend->on_timer(kHealthRetry);
  fake.fail(call("GET", "/global/health"), "HTTP request failed: Connection refused");
  EXPECT_EQ(fake.timers.at(kHealthRetry), 100u);
  EXPECT_EQ(fake.timers.at(kHealthDeadline), 30000u);
  backend->on_timer(kHealthDeadline);
  EXPECT_EQ(fake.failure(fake.last_op()),
            "opencode server http://127.0.0.1:4096 not healthy within 30s: GET /global/health: "
            "HTTP request failed: Connection refused");
}

TEST_F(OpencodeHttpBackendTest, HealthCheckRefusedFailsAtOnce) {
  make(url_options("http://u:wrong@127.0.0.1:4096"));
  backend->start_session(fake.op(), std::nullopt);
  fake.respond(call("GET", "/global/health"), 401, "");
  EXPECT_EQ(fake.failure(fake.last_op()),
            "opencode server http://127.0.0.1:4096 is not usable: GET /global/health: HTTP 401");
}

TEST_F(OpencodeHttpBackendTest, TextTurnEndsAfterTheStreamWentIdle) {
  start();
  Call& message = prompt();
  EXPECT_EQ(message.body(), R"({"parts":[{"type":"text","text":"hello"}]})");
  EXPECT_EQ(message.request.at("timeout_ms").as_int64(), 0);
  status("busy");
  fake.sse(
      stream(),
      R"({"type":"message.part.delta","properties":{"sessionID":"ses_1","messageID":"m","partID":"p","field":"text","delta":"OC-FAKE-"}})");
  fake.respond(message, 200, kFinished);
  EXPECT_FALSE(fake.is_completed(prompt_op));
  EXPECT_TRUE(fake.timers.contains(kFirstSettleTimer));
  status("idle");
  EXPECT_TRUE(fake.is_completed(prompt_op));
  EXPECT_EQ(fake.event_names(), (std::vector<std::string>{"agent.message_chunk", "session.end"}));
  const auto& end = fake.events.back();
  EXPECT_EQ(json::string_or(end, "stop_reason"), "end_turn");
  EXPECT_EQ(json::string_or(end, "session_id"), "ses_1");
  EXPECT_EQ(end.at("usage").at("total_tokens").as_int64(), 13);
  EXPECT_FALSE(end.contains("final_output"));  // the host builds it from the chunks
}

TEST_F(OpencodeHttpBackendTest, PromptWaitsForTheStream) {
  start();
  backend->prompt(fake.op(), "ses_1", "hi");
  EXPECT_EQ(fake.find("POST", "/message"), nullptr);
  fake.sse(stream(), R"({"type":"server.connected","properties":{}})");
  EXPECT_NE(fake.find("POST", "/session/ses_1/message"), nullptr);
}

TEST_F(OpencodeHttpBackendTest, CancelBeforeTheStreamConnectedKeepsThePromptBack) {
  start();
  backend->prompt(fake.op(), "ses_1", "hi");
  auto prompt = fake.last_op();
  backend->cancel(fake.op(), "ses_1");
  EXPECT_TRUE(fake.is_completed(fake.last_op()));
  EXPECT_EQ(fake.failure(prompt), "cancelled before the prompt was sent");
  fake.sse(stream(), R"({"type":"server.connected","properties":{}})");
  EXPECT_EQ(fake.find("POST", "/message"), nullptr);
  EXPECT_EQ(fake.find("POST", "/abort"), nullptr);
}

TEST_F(OpencodeHttpBackendTest, ResponseWithoutStreamEventsEndsAtTheSettleTimeWithTheReplyText) {
  start();
  backend->prompt(fake.op(), "ses_1", "hi");
  backend->on_timer(5);  // the stream wait limit
  fake.respond(call("POST", "/session/ses_1/message"), 200, kFinished);
  EXPECT_TRUE(fake.events.empty());  // the stream may still catch up
  EXPECT_EQ(fake.timers.at(kFirstSettleTimer), 2000u);
  backend->on_timer(kFirstSettleTimer);
  ASSERT_EQ(fake.event_names(), (std::vector<std::string>{"session.end"}));
  EXPECT_EQ(json::string_or(fake.events[0], "final_output"), "OC-FAKE-REPLY");
  EXPECT_TRUE(fake.is_completed(fake.last_op()));
}

TEST_F(OpencodeHttpBackendTest, IdleWithoutResponseEndsAfterTheSettleTime) {
  start();
  Call& message = prompt();
  status("busy");
  fake.sse(
      stream(),
      R"({"type":"session.error","properties":{"sessionID":"ses_1","error":{"name":"MessageAbortedError","data":{"message":"Aborted"}}}})");
  status("idle");
  EXPECT_TRUE(fake.events.empty());
  backend->on_timer(kFirstSettleTimer);
  ASSERT_EQ(fake.event_names(), (std::vector<std::string>{"session.end"}));
  EXPECT_EQ(json::string_or(fake.events[0], "stop_reason"), "cancelled");
  EXPECT_EQ(json::string_or(fake.events[0], "ended_by"), "stream");
  EXPECT_TRUE(fake.is_completed(prompt_op));
  fake.respond(message, 200, kFinished);  // late: nothing more
  EXPECT_EQ(fake.events.size(), 1u);
  EXPECT_EQ(fake.finishes[prompt_op], 1);
}

TEST_F(OpencodeHttpBackendTest, PromptErrorFailsTheOperation) {
  auto o = url_options();
  o.model = "nope";
  o.agent = "plan";
  start(o);
  Call& message = prompt();
  EXPECT_EQ(
      message.body(),
      R"({"parts":[{"type":"text","text":"hello"}],"agent":"plan","model":{"modelID":"nope"}})");
  fake.respond(message, 400, R"({"name":"BadRequest"})");
  EXPECT_EQ(fake.failure(prompt_op),
            R"(POST /session/ses_1/message: HTTP 400: {"name":"BadRequest"})");
  EXPECT_TRUE(fake.events.empty());
  // The next turn can start.
  backend->prompt(fake.op(), "ses_1", "again");
  EXPECT_FALSE(fake.is_failed(fake.last_op()));
}

TEST_F(OpencodeHttpBackendTest, EventsOfOtherSessionsAreDropped) {
  start();
  prompt();
  fake.sse(
      stream(),
      R"({"type":"message.part.delta","properties":{"sessionID":"ses_other","partID":"p","field":"text","delta":"x"}})");
  fake.sse(stream(), R"({"type":"plugin.added","properties":{"id":"agent"}})");
  EXPECT_EQ(fake.event_names(), (std::vector<std::string>{"http.plugin.added"}));
}

TEST_F(OpencodeHttpBackendTest, PermissionAnsweredThroughTheFallbackRoute) {
  start();
  prompt();
  fake.sse(
      stream(),
      R"({"type":"permission.asked","properties":{"id":"per_9","sessionID":"ses_1","permission":"bash","patterns":["ls"],"always":["ls *"]}})");
  ASSERT_EQ(fake.event_names(), (std::vector<std::string>{"permission.request"}));
  avenor::sdk::PermissionAnswer a;
  a.session_id = "ses_1";
  a.request_id = "per_9";
  a.allow = true;
  a.option_id = "allow_always";
  backend->answer_permission(fake.op(), a);
  auto op = fake.last_op();
  Call& primary = call("POST", "/permission/per_9/reply");
  EXPECT_EQ(primary.body(), R"({"reply":"always"})");
  fake.respond(primary, 404, "{}");
  Call& fallback = call("POST", "/session/ses_1/permissions/per_9");
  EXPECT_EQ(fallback.body(), R"({"reply":"always","response":"always","remember":true})");
  fake.respond(fallback, 200, "true");
  EXPECT_TRUE(fake.is_completed(op)) << fake.failure(op);
}

TEST_F(OpencodeHttpBackendTest, PermissionRejectCarriesTheMessage) {
  start();
  prompt();
  fake.sse(
      stream(),
      R"({"type":"permission.asked","properties":{"id":"per_1","sessionID":"ses_1","permission":"bash","always":[]}})");
  avenor::sdk::PermissionAnswer a;
  a.request_id = "per_1";
  a.message = "not now";
  backend->answer_permission(fake.op(), a);
  auto op = fake.last_op();
  Call& reply = call("POST", "/permission/per_1/reply");
  EXPECT_EQ(reply.body(), R"({"reply":"reject","message":"not now"})");
  fake.respond(reply, 200, "true");
  EXPECT_TRUE(fake.is_completed(op));
  // Answered: a second answer for the same id is refused.
  backend->answer_permission(fake.op(), a);
  EXPECT_EQ(fake.failure(fake.last_op()), "unknown permission request_id: per_1");
}

TEST_F(OpencodeHttpBackendTest, PermissionAnswerWithAWrongOptionFails) {
  start();
  prompt();
  fake.sse(
      stream(),
      R"({"type":"permission.asked","properties":{"id":"per_1","sessionID":"ses_1","permission":"bash","always":[]}})");
  avenor::sdk::PermissionAnswer a;
  a.request_id = "per_1";
  a.allow = true;
  a.option_id = "allow_always";  // not offered: "always" was empty
  backend->answer_permission(fake.op(), a);
  EXPECT_EQ(fake.failure(fake.last_op()), "permission option not found: allow_always");
}

TEST_F(OpencodeHttpBackendTest, BothPermissionRoutesFailing) {
  start();
  prompt();
  fake.sse(
      stream(),
      R"({"type":"permission.asked","properties":{"id":"per_1","sessionID":"ses_1","permission":"bash"}})");
  avenor::sdk::PermissionAnswer a;
  a.request_id = "per_1";
  a.allow = true;
  backend->answer_permission(fake.op(), a);
  auto op = fake.last_op();
  fake.respond(call("POST", "/permission/per_1/reply"), 500, "boom");
  fake.respond(call("POST", "/session/ses_1/permissions/per_1"), 404, "gone");
  EXPECT_EQ(fake.failure(op),
            "POST /permission/per_1/reply: HTTP 500: boom; fallback POST "
            "/session/ses_1/permissions/per_1: HTTP 404: gone");
}

TEST_F(OpencodeHttpBackendTest, CancelAborts) {
  start();
  prompt();
  backend->cancel(fake.op(), "ses_1");
  auto op = fake.last_op();
  fake.respond(call("POST", "/session/ses_1/abort"), 200, "true");
  EXPECT_TRUE(fake.is_completed(op));
  backend->cancel(fake.op(), "ses_1");
  fake.respond(call("POST", "/session/ses_1/abort"), 400, "no");
  EXPECT_EQ(fake.failure(fake.last_op()), "POST /session/ses_1/abort: HTTP 400: no");
}

TEST_F(OpencodeHttpBackendTest, StreamReconnectsWithBackoff) {
  start();
  Call* first = &stream();
  fake.sse(*first, R"({"type":"server.connected","properties":{}})");
  fake.fail(*first, "HTTP request failed: end of stream");
  EXPECT_EQ(fake.timers.at(kStreamReconnect), 100u);
  backend->on_timer(kStreamReconnect);
  Call* second = &stream();
  fake.fail(*second, "HTTP request failed: Connection refused");  // no data: backoff grows
  EXPECT_EQ(fake.timers.at(kStreamReconnect), 200u);
  backend->on_timer(kStreamReconnect);
  Call* third = &stream();
  fake.sse(*third, R"({"type":"server.connected","properties":{}})");
  fake.fail(*third, "HTTP request failed: end of stream");
  EXPECT_EQ(fake.timers.at(kStreamReconnect), 100u);  // data arrived: back to the start
}

TEST_F(OpencodeHttpBackendTest, ResumeChecksTheSession) {
  make(url_options());
  backend->start_session(fake.op(), std::string("ses_gone"));
  auto op = fake.last_op();
  fake.respond(call("GET", "/global/health"), 200, "{}");
  fake.respond(call("GET", "/session/ses_gone"), 404, R"({"name":"NotFoundError"})");
  EXPECT_EQ(
      fake.failure(op),
      R"(resume session ses_gone: GET /session/ses_gone: HTTP 404: {"name":"NotFoundError"})");
  backend->start_session(fake.op(), std::string("ses_2"));
  op = fake.last_op();
  fake.respond(call("GET", "/session/ses_2"), 200, R"({"id":"ses_2","directory":"/p"})");
  EXPECT_EQ(json::dump(fake.completed.at(op)), R"({"session_id":"ses_2"})");
  // Known now: resuming it again asks nothing.
  std::size_t calls = fake.calls.size();
  backend->start_session(fake.op(), std::string("ses_2"));
  EXPECT_TRUE(fake.is_completed(fake.last_op()));
  EXPECT_EQ(fake.calls.size(), calls);
}

TEST_F(OpencodeHttpBackendTest, ClosingFailsTheRunningPrompt) {
  start();
  prompt();
  backend->on_closed("killed");
  EXPECT_EQ(fake.failure(prompt_op), "opencode-http backend closed: killed");
  backend->prompt(fake.op(), "ses_1", "x");
  EXPECT_EQ(fake.failure(fake.last_op()), "opencode-http backend closed: killed");
}

}  // namespace
