#include "claude-channel/channel_relay.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace {

using namespace avenor::claude_channel;
namespace bj = boost::json;

class RelayTest : public ::testing::Test {
 protected:
  ChannelRelay relay{{"run-1", "tok", "push", "avenor-channel-run-1", "sess"},
                     [] { return std::string("2026-01-01T00:00:00.000Z"); },
                     [this] { return "c" + std::to_string(++ids); }};
  int ids = 0;

  RelayOutcome post(const std::string& path, bj::object body, bool auth = true) {
    if (auth) {
      body["run_id"] = "run-1";
      body["token"] = "tok";
    }
    return relay.handle({"POST", path, bj::serialize(body), ""});
  }
};

TEST_F(RelayTest, AuthenticatesSidecarRoutes) {
  EXPECT_EQ(post("/heartbeat", {}, false).status, 401);
  EXPECT_EQ(post("/heartbeat", {{"run_id", "run-1"}, {"token", "nope"}}, false).status, 401);
  EXPECT_EQ(post("/heartbeat", {}).status, 200);
  EXPECT_EQ(relay.handle({"GET", "/heartbeat", "", ""}).status, 405);
  EXPECT_EQ(relay.handle({"POST", "/heartbeat", "[1]", ""}).status, 400);
  EXPECT_EQ(post("/nope", {}).status, 404);
  EXPECT_EQ(relay.handle({"GET", "/health", "", ""}).kind, RelayOutcome::Kind::health);
  relay.delete_run();
  EXPECT_EQ(post("/heartbeat", {}).status, 410);
}

TEST_F(RelayTest, RegisterAnnouncesTheChannelOnce) {
  auto first = post("/register", {{"pid", 1}});
  ASSERT_EQ(first.events.size(), 1u);
  EXPECT_EQ(first.events[0].at("event"), "agent.channel_ready");
  EXPECT_EQ(first.events[0].at("server_name"), "avenor-channel-run-1");
  EXPECT_EQ(first.events[0].at("session_id"), "sess");
  EXPECT_TRUE(post("/register", {}).events.empty());
  EXPECT_TRUE(relay.registered());
}

TEST_F(RelayTest, PollHoldsUntilSomethingIsQueued) {
  EXPECT_EQ(post("/poll-control", {}).kind, RelayOutcome::Kind::hold_poll);
  EXPECT_EQ(relay.push("continue", bj::object{{"message", "hi"}}), "c1");
  auto out = post("/poll-control", {});
  ASSERT_EQ(out.kind, RelayOutcome::Kind::reply);
  EXPECT_EQ(out.body, bj::parse(R"([{"id":"c1","type":"continue","run_id":"run-1",
      "payload":{"message":"hi"},"created_at":"2026-01-01T00:00:00.000Z"}])"));
  EXPECT_FALSE(relay.has_queued());
}

TEST_F(RelayTest, PushControlNeedsTheBearerToken) {
  auto denied = relay.handle({"POST", "/push-control", R"({"type":"continue"})", "Bearer x"});
  EXPECT_EQ(denied.status, 401);
  auto ok = relay.handle({"POST", "/push-control",
                          R"({"type":"add_context","payload":{"message":"m"},"from_run_id":"r2"})",
                          "Bearer push"});
  EXPECT_EQ(ok.status, 200);
  auto queued = relay.take_queued();
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].at("from_run_id"), "r2");
  EXPECT_EQ(relay.handle({"POST", "/push-control", R"({})", "Bearer push"}).status, 400);
}

TEST_F(RelayTest, ReportsMapToEvents) {
  auto working = post("/report", {{"state", "working"}, {"payload", {{"message", "m"}}}});
  ASSERT_EQ(working.events.size(), 2u);
  EXPECT_EQ(working.events[0].at("event"), "agent.report");
  EXPECT_EQ(working.events[0].at("source"), "channel");
  EXPECT_EQ(working.events[1].at("event"), "agent.status");
  EXPECT_EQ(working.events[1].at("phase"), "working");

  auto blocked = post("/report", {{"state", "blocked"}});
  EXPECT_EQ(blocked.events[1].at("phase"), "waiting");
  auto started = post("/report", {{"state", "started"}});
  EXPECT_EQ(started.events[1].at("phase"), "started");

  auto checkpoint = post("/report", {{"state", "checkpoint"}, {"payload", {{"step", 3}}}});
  EXPECT_EQ(checkpoint.events[1].at("event"), "agent.message_chunk");
  EXPECT_EQ(checkpoint.events[1].at("step"), 3);
  EXPECT_EQ(checkpoint.events[1].at("payload"), bj::parse(R"({"step":3})"));

  auto perm = post("/report", {{"state", "permission_requested"},
                               {"payload", {{"request_id", "p1"}, {"tool", "Bash"}}}});
  EXPECT_EQ(perm.events[1].at("event"), "permission.request");
  EXPECT_EQ(perm.events[1].at("request_id"), "p1");

  EXPECT_EQ(post("/report", {}).status, 400);
}

TEST_F(RelayTest, FinishEndsTheTurn) {
  for (auto [status, stop] : {std::pair{"done", "end_turn"}, std::pair{"failed", "error"},
                              std::pair{"blocked", "cancelled"}, std::pair{"other", "end_turn"}}) {
    auto out = post("/finish", {{"status", status},
                                {"summary", "s"},
                                {"files_changed", bj::array{"a"}},
                                {"details", {{"k", 1}}}});
    ASSERT_EQ(out.events.size(), 1u);
    EXPECT_EQ(out.events[0].at("event"), "agent.finish");
    EXPECT_EQ(out.events[0].at("payload"), bj::parse(R"({"k":1})"));
    ASSERT_TRUE(out.session_end);
    EXPECT_EQ(out.session_end->at("stop_reason"), stop);
    EXPECT_EQ(out.session_end->at("status"), status);
    EXPECT_EQ(out.session_end->at("files_changed"), bj::parse(R"(["a"])"));
  }
}

TEST_F(RelayTest, ChannelPermissionRequestsAndDecisions) {
  auto out = post("/permission_request", {{"request_id", "abcde"},
                                          {"tool_name", "Bash"},
                                          {"description", "Run tests"},
                                          {"input_preview", "{}"}});
  ASSERT_EQ(out.events.size(), 1u);
  const auto& e = out.events[0];
  EXPECT_EQ(e.at("event"), "permission.request");
  EXPECT_EQ(e.at("tool"), "Bash");
  EXPECT_EQ(e.at("question"), "Run tests");
  EXPECT_EQ(e.at("input"), "{}");
  EXPECT_EQ(e.at("options"), bj::parse(R"([{"optionId":"allow","kind":"allow"},
      {"optionId":"deny","kind":"reject"}])"));
  EXPECT_EQ(post("/permission", {{"request_id", "abcde"}}).body.at("pending"), true);
  relay.push("permission_decision", bj::object{{"request_id", "abcde"}, {"behavior", "deny"}});
  EXPECT_EQ(post("/permission", {{"request_id", "abcde"}}).body.at("behavior"), "deny");
  EXPECT_EQ(post("/permission_request", {}).status, 400);
}

TEST_F(RelayTest, Replies) {
  auto out = post("/reply", {{"to", "c9"}, {"payload", "fine"}});
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].at("event"), "agent.reply");
  EXPECT_EQ(out.events[0].at("to"), "c9");
  EXPECT_EQ(out.events[0].at("payload"), "fine");
}

}  // namespace
