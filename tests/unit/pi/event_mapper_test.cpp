#include "pi/event_mapper.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

using avenor::pi::map_event;
namespace bj = boost::json;

bj::object J(std::string_view text) { return avenor::sdk::json::parse(text).as_object(); }
std::vector<bj::object> M(std::string_view text) { return map_event(J(text), "s1"); }
bj::value V(const bj::object& o) { return bj::value(o); }

TEST(PiEventMapper, LifecycleEventsCarryNoPayload) {
  EXPECT_EQ(V(M(R"({"type":"agent_start"})").at(0)),
            V(J(R"({"event":"session.start","session_id":"s1"})")));
  for (auto [pi, avenor] : {std::pair{"turn_start", "avenor.turn.start"},
                            {"turn_end", "avenor.turn.end"},
                            {"message_start", "avenor.message.start"},
                            {"message_end", "avenor.message.end"}}) {
    auto out = M(std::string(R"({"type":")") + pi + R"(","message":{"role":"assistant"}})");
    ASSERT_EQ(out.size(), 1u) << pi;
    EXPECT_EQ(V(out[0]), V(bj::object{{"event", avenor}, {"session_id", "s1"}})) << pi;
  }
}

TEST(PiEventMapper, TextDeltaIsAMessageChunkWithContentAndADeltaCopy) {
  auto out = M(R"({"type":"message_update","message":{"big":1},"assistantMessageEvent":
      {"type":"text_delta","contentIndex":0,"delta":"PI-FAKE-","partial":{"big":1}}})");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(V(out[0]), V(J(R"({"event":"agent.message_chunk","session_id":"s1","delta":"PI-FAKE-",
      "content":{"type":"text","text":"PI-FAKE-"}})")));
  EXPECT_EQ(V(out[1]),
            V(J(R"({"event":"avenor.message.delta","session_id":"s1","text":"PI-FAKE-"})")));
}

TEST(PiEventMapper, EmptyDeltasAreSuppressed) {
  EXPECT_TRUE(
      M(R"({"type":"message_update","assistantMessageEvent":{"type":"text_delta","delta":""}})")
          .empty());
  EXPECT_TRUE(
      M(R"({"type":"message_update","assistantMessageEvent":{"type":"thinking_delta","delta":""}})")
          .empty());
}

TEST(PiEventMapper, ThinkingDeltaIsAThoughtChunkPlusUpdate) {
  auto out = M(R"({"type":"message_update","assistantMessageEvent":
      {"type":"thinking_delta","contentIndex":1,"delta":"hmm","partial":{}}})");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].at("event"), "agent.thought_chunk");
  EXPECT_EQ(out[0].at("content").at("text"), "hmm");
  EXPECT_EQ(V(out[1]), V(J(R"({"event":"avenor.message.update","session_id":"s1",
      "type":"thinking_delta","assistantMessageEvent":{"type":"thinking_delta","contentIndex":1,
      "delta":"hmm"}})")));
}

// Tool-call streaming as pi 0.73.1 sends it: id and name only in the partial.
TEST(PiEventMapper, ToolCallStreamingBecomesToolCallEvents) {
  auto start = M(R"({"type":"message_update","assistantMessageEvent":{"type":"toolcall_start",
      "contentIndex":0,"partial":{"content":[{"type":"toolCall","id":"call_1","name":"bash",
      "arguments":{}}]}}})");
  ASSERT_EQ(start.size(), 1u);
  EXPECT_EQ(V(start[0]), V(J(R"({"event":"tool.call","session_id":"s1","kind":"tool",
      "status":"running","toolCallId":"call_1","toolName":"bash","title":"bash"})")));

  auto delta = M(R"({"type":"message_update","assistantMessageEvent":{"type":"toolcall_delta",
      "contentIndex":0,"delta":"{\"command\"","partial":{"content":[{"type":"toolCall",
      "id":"call_1","name":"bash"}]}}})");
  EXPECT_EQ(V(delta.at(0)), V(J(R"({"event":"tool.call_update","session_id":"s1","kind":"tool",
      "status":"running","toolCallId":"call_1","toolName":"bash","title":"bash",
      "delta":"{\"command\""})")));

  auto end = M(R"({"type":"message_update","assistantMessageEvent":{"type":"toolcall_end",
      "contentIndex":0,"toolCall":{"type":"toolCall","id":"call_1","name":"bash",
      "arguments":{"command":"ls"}},"partial":{}}})");
  EXPECT_EQ(V(end.at(0)), V(J(R"({"event":"tool.call_update","session_id":"s1","kind":"tool",
      "status":"completed","toolCallId":"call_1","toolName":"bash","title":"bash",
      "rawInput":{"command":"ls"}})")));
}

TEST(PiEventMapper, OtherSubEventsKeepOnlyTheirSmallFields) {
  auto out = M(R"({"type":"message_update","message":{},"assistantMessageEvent":{"type":"done",
      "reason":"stop","message":{"x":1},"partial":{},"content":"all","signature":"sig",
      "toolCall":{"id":"c","name":"bash","arguments":{"a":1}}}})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(V(out[0]), V(J(R"({"event":"avenor.message.update","session_id":"s1","type":"done",
      "assistantMessageEvent":{"type":"done","reason":"stop","toolCall":{"id":"c","name":"bash"}}})")));
}

TEST(PiEventMapper, ToolExecutionBecomesToolCallsPlusAvenorToolCopies) {
  auto start = M(R"({"type":"tool_execution_start","toolCallId":"c1","toolName":"bash",
      "args":{"command":"ls"}})");
  ASSERT_EQ(start.size(), 2u);
  EXPECT_EQ(V(start[0]), V(J(R"({"event":"tool.call","session_id":"s1","kind":"tool",
      "title":"bash","status":"running","rawInput":{"command":"ls"},"toolCallId":"c1",
      "toolName":"bash","args":{"command":"ls"}})")));
  EXPECT_EQ(V(start[1]), V(J(R"({"event":"avenor.tool.start","session_id":"s1","toolCallId":"c1",
      "toolName":"bash","args":{"command":"ls"}})")));

  auto update = M(R"({"type":"tool_execution_update","toolCallId":"c1","toolName":"bash",
      "partialResult":{"content":[{"type":"text","text":"TOOL-"}]}})");
  EXPECT_EQ(update[0].at("event"), "tool.call_update");
  EXPECT_EQ(update[0].at("status"), "running");
  EXPECT_EQ(update[0].at("partialResult").at("content").at(0).at("text"), "TOOL-");
  EXPECT_EQ(update[1].at("event"), "avenor.tool.update");

  auto end = M(R"({"type":"tool_execution_end","toolCallId":"c1","toolName":"bash",
      "result":{"content":[{"type":"text","text":"TOOL-MARKER-42\n"}]},"isError":false})");
  EXPECT_EQ(end[0].at("event"), "tool.call_update");
  EXPECT_EQ(end[0].at("status"), "completed");
  EXPECT_EQ(end[0].at("title"), "bash");
  EXPECT_EQ(end[0].at("isError"), false);
  EXPECT_EQ(end[0].at("result").at("content").at(0).at("text"), "TOOL-MARKER-42\n");
  EXPECT_EQ(end[1].at("event"), "avenor.tool.end");

  auto explicit_status = M(R"({"type":"tool_execution_end","toolCallId":"c1","status":"failed"})");
  EXPECT_EQ(explicit_status[0].at("status"), "failed");
}

TEST(PiEventMapper, PayloadCannotOverwriteTheEnvelope) {
  auto out = M(R"({"type":"tool_execution_start","toolCallId":"c1","event":"x","session_id":"y"})");
  EXPECT_EQ(out[0].at("event"), "tool.call");
  EXPECT_EQ(out[0].at("session_id"), "s1");
  EXPECT_EQ(out[1].at("event"), "avenor.tool.start");
}

TEST(PiEventMapper, RenamedAndUnknownEventsPassTheirPayload) {
  for (auto [pi, avenor] : {std::pair{"compaction_start", "avenor.compaction.start"},
                            {"compaction_end", "avenor.compaction.end"},
                            {"queue_update", "avenor.queue.update"},
                            {"auto_retry_start", "avenor.auto_retry.start"},
                            {"auto_retry_end", "avenor.auto_retry.end"},
                            {"extension_error", "avenor.extension.error"},
                            {"agent_settled", "avenor.agent_settled"},
                            {"thinking_level_changed", "avenor.thinking_level_changed"}}) {
    auto out = M(std::string(R"({"type":")") + pi + R"(","attempt":2})");
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(V(out[0]), V(bj::object{{"event", avenor}, {"session_id", "s1"}, {"attempt", 2}}));
  }
  EXPECT_EQ(M(R"({"no_type":1})").at(0).at("event"), "avenor.unknown");
}

}  // namespace
