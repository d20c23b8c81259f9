#include "pi/agent_end.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

using namespace avenor::pi;
namespace bj = boost::json;

bj::object J(std::string_view text) { return avenor::sdk::json::parse(text).as_object(); }

TEST(PiAgentEnd, StopReasonsMapToAvenorsVocabulary) {
  EXPECT_EQ(map_stop_reason("stop"), "end_turn");
  EXPECT_EQ(map_stop_reason("length"), "max_tokens");
  EXPECT_EQ(map_stop_reason("toolUse"), "tool_use");
  EXPECT_EQ(map_stop_reason("aborted"), "cancelled");
  EXPECT_EQ(map_stop_reason("error"), "error");
  EXPECT_EQ(map_stop_reason("somethingNew"), "somethingNew");
}

// As pi 0.73.1 sends it after a tool round trip (trimmed).
constexpr std::string_view kToolTurn = R"({"type":"agent_end","messages":[
  {"role":"user","content":[{"type":"text","text":"RUN_TOOL"}]},
  {"role":"assistant","content":[{"type":"toolCall","id":"c1","name":"bash","arguments":{}}],
   "usage":{"input":10,"output":3,"cacheRead":2,"cacheWrite":0,"totalTokens":15},"stopReason":"toolUse"},
  {"role":"toolResult","toolCallId":"c1","content":[{"type":"text","text":"TOOL-MARKER-42\n"}]},
  {"role":"assistant","content":[{"type":"text","text":"TOOL-"},{"type":"thinking","thinking":"x"},
   {"type":"text","text":"ROUNDTRIP-OK"}],
   "usage":{"input":20,"output":4,"cacheRead":0,"cacheWrite":0,"totalTokens":24},"stopReason":"stop"}]})";

TEST(PiAgentEnd, ReadsTheLastAssistantMessageAndSumsUsage) {
  AgentEnd end = AgentEnd::from_event(J(kToolTurn));
  EXPECT_FALSE(end.will_retry);
  EXPECT_EQ(end.stop_reason, "end_turn");
  EXPECT_EQ(end.final_output, "TOOL-ROUNDTRIP-OK");
  EXPECT_EQ(end.error_message, "");
  ASSERT_TRUE(end.usage);
  EXPECT_EQ(bj::value(*end.usage), bj::value(J(R"({"input_tokens":30,"output_tokens":7,
      "total_tokens":39,"cached_read_tokens":2})")));
}

TEST(PiAgentEnd, ErrorTurnCarriesTheErrorMessage) {
  AgentEnd end = AgentEnd::from_event(J(R"({"type":"agent_end","messages":[{"role":"assistant",
      "content":[],"stopReason":"error","errorMessage":"500 injected failure"}]})"));
  EXPECT_EQ(end.stop_reason, "error");
  EXPECT_EQ(end.error_message, "500 injected failure");
  EXPECT_EQ(end.final_output, "");
  auto e = session_end_event(end, "s1");
  EXPECT_EQ(e.at("error_message"), "500 injected failure");
  EXPECT_FALSE(e.contains("final_output")) << "empty text is left for the host to fill";
}

TEST(PiAgentEnd, AbortBetweenStepsStillFindsTheAssistantsStopReason) {
  AgentEnd end = AgentEnd::from_event(J(R"({"messages":[
      {"role":"assistant","content":[{"type":"text","text":"partial"}],"stopReason":"aborted"},
      {"role":"toolResult","content":[{"type":"text","text":"Aborted"}]}]})"));
  EXPECT_EQ(end.stop_reason, "cancelled");
  EXPECT_EQ(end.final_output, "partial");
}

TEST(PiAgentEnd, WithoutStopReasonTheSnakeCaseOneIsTakenVerbatim) {
  EXPECT_EQ(AgentEnd::from_event(J(R"({"messages":[{"role":"assistant","content":"hi",
      "stop_reason":"end_of_turn"}]})"))
                .stop_reason,
            "end_of_turn");
  AgentEnd end = AgentEnd::from_event(J(R"({"messages":[],"stop_reason":"weird"})"));
  EXPECT_EQ(end.stop_reason, "weird");
  EXPECT_FALSE(end.usage);
  EXPECT_EQ(AgentEnd::from_event(J(R"({"messages":[{"role":"assistant","content":"plain"}]})"))
                .final_output,
            "plain");
}

TEST(PiAgentEnd, WillRetryIsRead) {
  EXPECT_TRUE(AgentEnd::from_event(J(R"({"willRetry":true,"messages":[]})")).will_retry);
}

TEST(PiAgentEnd, TurnResultOfStopReasons) {
  EXPECT_EQ(turn_result("end_turn"), TurnResult::success);
  EXPECT_EQ(turn_result("end_of_turn"), TurnResult::success);
  EXPECT_EQ(turn_result("max_tokens"), TurnResult::success);
  EXPECT_EQ(turn_result("whatever"), TurnResult::success);
  EXPECT_EQ(turn_result("cancelled"), TurnResult::cancelled);
  EXPECT_EQ(turn_result("error"), TurnResult::error);
}

TEST(PiAgentEnd, SessionEndEvent) {
  AgentEnd end = AgentEnd::from_event(J(kToolTurn));
  auto e = session_end_event(end, "s1");
  EXPECT_EQ(e.at("event"), "session.end");
  EXPECT_EQ(e.at("session_id"), "s1");
  EXPECT_EQ(e.at("stop_reason"), "end_turn");
  EXPECT_EQ(e.at("final_output"), "TOOL-ROUNDTRIP-OK");
  EXPECT_EQ(e.at("usage").at("total_tokens"), 39);
}

}  // namespace
