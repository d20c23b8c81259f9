#include "claude/stream_mapper.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

using namespace avenor::claude;
namespace json = avenor::sdk::json;

boost::json::object J(std::string_view text) { return json::parse(text).as_object(); }

// Lines recorded from claude 2.1.197 (uuid/session_id trimmed).
constexpr std::string_view kMessageStart =
    R"({"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[]}},"parent_tool_use_id":null})";
constexpr std::string_view kTextDelta =
    R"({"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello the"}},"parent_tool_use_id":null})";
constexpr std::string_view kAssistantText =
    R"({"type":"assistant","message":{"id":"msg_1","role":"assistant","content":[{"type":"text","text":"Hello there friend"}]},"parent_tool_use_id":null})";
constexpr std::string_view kAssistantToolUse =
    R"({"type":"assistant","message":{"id":"msg_2","role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"touch x"}}]},"parent_tool_use_id":null})";
constexpr std::string_view kToolResult =
    R"({"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1","type":"tool_result","content":"MADE","is_error":false}]},"parent_tool_use_id":null,"tool_use_result":{"stdout":"MADE"}})";
constexpr std::string_view kDeniedResult =
    R"({"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"denied","is_error":true,"tool_use_id":"toolu_1"}]},"parent_tool_use_id":null})";

TEST(ClaudeStreamMapper, DeltasBecomeChunksAndTheWholeMessageIsNotRepeated) {
  StreamMapper m;
  EXPECT_TRUE(m.map(J(kMessageStart), "S").empty());
  auto chunks = m.map(J(kTextDelta), "S");
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], json::parse(R"({"event":"agent.message_chunk","session_id":"S",
      "delta":"Hello the","content":{"type":"text","text":"Hello the"},"message_id":"msg_1"})"));
  EXPECT_TRUE(m.map(J(kAssistantText), "S").empty());
}

TEST(ClaudeStreamMapper, AWholeMessageWithoutDeltasIsOneChunk) {
  StreamMapper m;
  auto e = m.map(J(kAssistantText), "S");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].at("delta"), "Hello there friend");
  m.map(J(kMessageStart), "S");
  m.map(J(kTextDelta), "S");
  m.reset_turn();
  EXPECT_EQ(m.map(J(kAssistantText), "S").size(), 1u) << "a new turn forgets streamed ids";
}

TEST(ClaudeStreamMapper, ThinkingDeltas) {
  StreamMapper m;
  auto e = m.map(
      J(R"({"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm"}}})"),
      "S");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].at("event"), "agent.thought_chunk");
  EXPECT_EQ(e[0].at("delta"), "Hmm");
  EXPECT_TRUE(
      m.map(
           J(R"({"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}})"),
           "S")
          .empty());
}

TEST(ClaudeStreamMapper, ToolUseAndItsResult) {
  StreamMapper m;
  auto call = m.map(J(kAssistantToolUse), "S");
  ASSERT_EQ(call.size(), 1u);
  EXPECT_EQ(call[0], json::parse(R"({"event":"tool.call","session_id":"S","toolCallId":"toolu_1",
      "title":"touch x","kind":"execute","status":"pending","rawInput":{"command":"touch x"},
      "tool":"Bash","command":"touch x"})"));
  auto done = m.map(J(kToolResult), "S");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], json::parse(R"({"event":"tool.call_update","session_id":"S",
      "toolCallId":"toolu_1","status":"completed","content":"MADE"})"));
  EXPECT_EQ(m.map(J(kDeniedResult), "S").at(0).at("status"), "failed");
}

TEST(ClaudeStreamMapper, SystemLinesAndOthers) {
  StreamMapper m;
  auto e =
      m.map(J(R"({"type":"system","subtype":"status","status":"requesting","uuid":"u"})"), "S");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], json::parse(R"({"subtype":"status","status":"requesting",
      "event":"avenor.system.status","session_id":"S"})"));
  // an interrupt's "[Request interrupted by user]" text block is not a tool result
  EXPECT_TRUE(
      m.map(
           J(R"({"type":"user","message":{"role":"user","content":[{"type":"text","text":"[Request interrupted by user]"}]}})"),
           "S")
          .empty());
  EXPECT_TRUE(m.map(J(R"({"type":"keep_alive"})"), "S").empty());
}

TEST(ClaudeStreamMapper, SubAgentLinesNameTheirParent) {
  StreamMapper m;
  auto e = m.map(
      J(R"({"type":"assistant","message":{"id":"m","content":[{"type":"text","text":"x"}]},"parent_tool_use_id":"toolu_9"})"),
      "S");
  EXPECT_EQ(e.at(0).at("parent_tool_use_id"), "toolu_9");
}

TEST(ClaudeStreamMapper, ToolKinds) {
  EXPECT_EQ(tool_kind("Bash"), "execute");
  EXPECT_EQ(tool_kind("Write"), "edit");
  EXPECT_EQ(tool_kind("Read"), "read");
  EXPECT_EQ(tool_kind("Grep"), "search");
  EXPECT_EQ(tool_kind("WebFetch"), "fetch");
  EXPECT_EQ(tool_kind("mcp__x__y"), "other");
  EXPECT_EQ(tool_title("Edit", json::parse(R"({"file_path":"/a"})")), "/a");
  EXPECT_EQ(tool_title("Task", json::parse("{}")), "Task");
}

}  // namespace
