#include "codex/notification_mapper.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

namespace bj = boost::json;
using avenor::codex::NotificationMapper;
using avenor::codex::stop_reason_for;

bj::value J(std::string_view text) { return avenor::sdk::json::parse(text); }
bj::object O(std::string_view text) { return J(text).as_object(); }

// Shapes as codex 0.169.0 sends them (trimmed to the fields that matter).
constexpr std::string_view kTurnStarted =
    R"({"threadId":"thr_1","turn":{"id":"turn_1","items":[],"status":"inProgress"}})";

TEST(CodexNotificationMapper, TurnStartedReadsTheTurnObject) {
  NotificationMapper m;
  auto out = m.map("turn/started", J(kTurnStarted));
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0],
            O(R"({"event":"avenor.turn.start","session_id":"thr_1","turn_id":"turn_1"})"));
  EXPECT_EQ(out.turn_started, "turn_1");
  // the spec's flat shape works too
  EXPECT_EQ(m.map("turn/started", J(R"({"threadId":"t","turnId":"x"})")).turn_started, "x");
}

TEST(CodexNotificationMapper, AgentMessageDeltasThenCompletedItem) {
  NotificationMapper m;
  auto started = m.map("item/started", J(R"({"item":{"type":"agentMessage","id":"msg_fake1",)"
                                         R"("text":""},"threadId":"thr_1","turnId":"turn_1"})"));
  ASSERT_EQ(started.events.size(), 1u);
  EXPECT_EQ(started.events[0]["event"], "avenor.item.start");
  auto delta = m.map("item/agentMessage/delta",
                     J(R"({"threadId":"thr_1","turnId":"turn_1","itemId":"msg_fake1",)"
                       R"("delta":"CX-FAKE-"})"));
  ASSERT_EQ(delta.events.size(), 1u);
  EXPECT_EQ(delta.events[0], O(R"({"event":"agent.message_chunk","session_id":"thr_1",)"
                               R"("delta":"CX-FAKE-","item_id":"msg_fake1","turn_id":"turn_1"})"));
  auto completed = m.map("item/completed",
                         J(R"({"item":{"type":"agentMessage","id":"msg_fake1",)"
                           R"("text":"CX-FAKE-REPLY"},"threadId":"thr_1","turnId":"turn_1"})"));
  ASSERT_EQ(completed.events.size(), 1u) << "streamed text must not be repeated";
  EXPECT_EQ(completed.events[0]["event"], "avenor.item.end");
}

TEST(CodexNotificationMapper, ReasoningAndCommandOutputDeltas) {
  NotificationMapper m;
  for (auto method : {"item/reasoning/textDelta", "item/reasoning/summaryTextDelta"}) {
    auto out = m.map(method, J(R"({"threadId":"thr_1","turnId":"turn_1","itemId":"rs_1",)"
                               R"("delta":"hmm","summaryIndex":0,"contentIndex":0})"));
    ASSERT_EQ(out.events.size(), 1u);
    EXPECT_EQ(out.events[0], O(R"({"event":"agent.thought_chunk","session_id":"thr_1",)"
                               R"("delta":"hmm","item_id":"rs_1","turn_id":"turn_1"})"));
  }
  auto reasoning_done = m.map("item/completed", J(R"({"item":{"type":"reasoning","id":"rs_1",)"
                                                  R"("summary":["hmm"]},"threadId":"thr_1"})"));
  EXPECT_EQ(reasoning_done.events.size(), 1u);
  auto output = m.map("item/commandExecution/outputDelta",
                      J(R"({"threadId":"thr_1","turnId":"turn_1","itemId":"call_1",)"
                        R"("delta":"TOOL-"})"));
  ASSERT_EQ(output.events.size(), 1u);
  EXPECT_EQ(output.events[0], O(R"({"event":"tool.call_update","session_id":"thr_1",)"
                                R"("delta":"TOOL-","item_id":"call_1","turn_id":"turn_1",)"
                                R"("status":"running"})"));
  EXPECT_TRUE(m.map("item/agentMessage/delta", J(R"({"threadId":"t","delta":""})")).events.empty());
}

TEST(CodexNotificationMapper, GenericItemDeltaByKind) {
  NotificationMapper m;
  auto assistant = m.map("item/delta", J(R"({"threadId":"t","turnId":"u","itemId":"i1",)"
                                         R"("item":{"type":"agentMessage"},"delta":"hi"})"));
  ASSERT_EQ(assistant.events.size(), 1u);
  EXPECT_EQ(assistant.events[0]["event"], "agent.message_chunk");
  EXPECT_EQ(assistant.events[0]["delta"], "hi");
  // ... and its completion is not repeated
  EXPECT_EQ(m.map("item/completed", J(R"({"item":{"type":"agentMessage","id":"i1","text":"hi"},)"
                                      R"("threadId":"t","turnId":"u"})"))
                .events.size(),
            1u);
  auto reasoning = m.map("item/updated", J(R"({"threadId":"t","item":{"kind":"reasoning",)"
                                           R"("id":"r1","content":[{"text":"why"}]}})"));
  ASSERT_EQ(reasoning.events.size(), 1u);
  EXPECT_EQ(reasoning.events[0]["event"], "agent.thought_chunk");
  EXPECT_EQ(reasoning.events[0]["item_id"], "r1");
  EXPECT_EQ(reasoning.events[0]["delta"], "why");
  auto tool = m.map("item/delta", J(R"({"threadId":"t","item":{"type":"mcpToolCall"},)"
                                    R"("delta":{"output":"out"}})"));
  ASSERT_EQ(tool.events.size(), 1u);
  EXPECT_EQ(tool.events[0]["event"], "tool.call_update");
  EXPECT_EQ(tool.events[0]["status"], "running");
  EXPECT_EQ(tool.events[0]["delta"], "out");
  EXPECT_TRUE(
      m.map("item/delta", J(R"({"item":{"type":"userMessage"},"delta":"me"})")).events.empty());
  EXPECT_TRUE(m.map("item/delta", J(R"({"item":{"type":"plan"},"delta":"x"})")).events.empty());
  EXPECT_TRUE(m.map("item/updated", J(R"({"item":{"type":"agentMessage"}})")).events.empty());
}

TEST(CodexNotificationMapper, TurnCompletedStatuses) {
  NotificationMapper m;
  auto done = m.map("turn/completed", J(R"({"threadId":"thr_1","turn":{"id":"turn_1",)"
                                        R"("status":"completed","error":null,"items":[]}})"));
  ASSERT_EQ(done.events.size(), 1u);
  EXPECT_EQ(done.events[0], O(R"({"event":"session.end","session_id":"thr_1","turn_id":"turn_1",)"
                              R"("reason":"completed","stop_reason":"end_turn"})"));
  ASSERT_TRUE(done.turn_end);
  EXPECT_EQ(done.turn_end->turn_id, "turn_1");
  EXPECT_EQ(done.turn_end->status, "completed");

  auto interrupted = m.map("turn/completed", J(R"({"threadId":"thr_1","turn":{"id":"turn_2",)"
                                               R"("status":"interrupted","error":null}})"));
  EXPECT_EQ(interrupted.events[0]["stop_reason"], "cancelled");
  EXPECT_EQ(interrupted.events[0]["reason"], "interrupted");

  auto failed =
      m.map("turn/completed",
            J(R"({"threadId":"thr_1","turn":{"id":"turn_3","status":"failed",)"
              R"("error":{"message":"high demand","codexErrorInfo":"internalServerError"}}})"));
  EXPECT_EQ(failed.events[0], O(R"({"event":"session.end","session_id":"thr_1","turn_id":"turn_3",)"
                                R"("reason":"failed","stop_reason":"error",)"
                                R"("error_message":"high demand"})"));
  EXPECT_EQ(failed.turn_end->error_message, "high demand");

  auto running =
      m.map("turn/completed", J(R"({"threadId":"t","turn":{"id":"x","status":"inProgress"}})"));
  EXPECT_TRUE(running.events.empty());
  EXPECT_FALSE(running.turn_end);
  EXPECT_FALSE(stop_reason_for("weird"));
}

TEST(CodexNotificationMapper, WarningsBecomeDiagnosticsAndOthersAreDropped) {
  NotificationMapper m;
  auto warning = m.map("warning", J(R"({"threadId":"t","message":"Model metadata not found"})"));
  EXPECT_TRUE(warning.events.empty());
  EXPECT_EQ(warning.diagnostic, "codex warning: Model metadata not found");
  EXPECT_EQ(m.map("configWarning", J(R"({"summary":"no bubblewrap"})")).diagnostic,
            "codex configWarning: no bubblewrap");
  EXPECT_EQ(m.map("error", J(R"({"error":{"message":"boom"},"willRetry":true})")).diagnostic,
            "codex error: boom (will retry)");
  for (auto method :
       {"thread/started", "thread/status/changed", "thread/tokenUsage/updated",
        "account/rateLimits/updated", "serverRequest/resolved", "turn/diff/updated"}) {
    auto out = m.map(method, J(R"({"threadId":"t"})"));
    EXPECT_TRUE(out.events.empty()) << method;
    EXPECT_FALSE(out.diagnostic) << method;
  }
  EXPECT_TRUE(m.map("item/started", J("null")).events.empty());
}

}  // namespace
