#include "codex/item_mapper.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

namespace bj = boost::json;
using avenor::codex::ItemContext;
using avenor::codex::ItemMapper;

bj::object O(std::string_view text) { return avenor::sdk::json::parse(text).as_object(); }

const ItemContext kWhere{"thr_1", "turn_1"};

TEST(CodexItemMapper, CommandExecution) {
  ItemMapper m;
  auto start = m.started(
      kWhere,
      O(R"({"type":"commandExecution","id":"call_1","command":"/bin/bash -lc ls","cwd":"/p",)"
        R"("status":"inProgress","aggregatedOutput":null,"exitCode":null})"),
      "call_1");
  ASSERT_EQ(start.size(), 2u);
  EXPECT_EQ(start[0], O(R"({"event":"avenor.item.start","session_id":"thr_1","item_id":"call_1",)"
                        R"("turn_id":"turn_1","item_kind":"commandExecution"})"));
  EXPECT_EQ(start[1], O(R"({"event":"tool.call","session_id":"thr_1","item_id":"call_1",)"
                        R"("turn_id":"turn_1","kind":"tool","status":"running",)"
                        R"("title":"/bin/bash -lc ls","command":"/bin/bash -lc ls","cwd":"/p"})"));
  auto end = m.completed(kWhere,
                         O(R"({"type":"commandExecution","id":"call_1","status":"completed",)"
                           R"("aggregatedOutput":"TOOL-MARKER-42\n","exitCode":0})"),
                         "call_1");
  ASSERT_EQ(end.size(), 2u);
  EXPECT_EQ(end[0], O(R"({"event":"tool.call_update","session_id":"thr_1","item_id":"call_1",)"
                      R"("turn_id":"turn_1","kind":"tool","status":"completed","exitCode":0,)"
                      R"("aggregatedOutput":"TOOL-MARKER-42\n"})"));
  EXPECT_EQ(end[1]["event"], "avenor.item.end");
  // a declined command keeps its status; no status at all means completed
  auto declined =
      m.completed(kWhere, O(R"({"type":"commandExecution","status":"declined"})"), "c2");
  EXPECT_EQ(declined[0]["status"], "declined");
  auto bare = m.completed(kWhere, O(R"({"type":"commandExecution"})"), "c3");
  EXPECT_EQ(bare[0]["status"], "completed");
}

TEST(CodexItemMapper, FileChangeTitleIsTheChangedPaths) {
  ItemMapper m;
  auto changes = R"([{"path":"/p/a.txt","kind":{"type":"add"},"diff":"hi\n"},)"
                 R"({"path":"/p/b.txt","kind":{"type":"delete"},"diff":""}])";
  auto start = m.started(kWhere,
                         O(std::string(R"({"type":"fileChange","id":"f1","status":"inProgress",)") +
                           R"("changes":)" + changes + "}"),
                         "f1");
  ASSERT_EQ(start.size(), 2u);
  EXPECT_EQ(start[1]["title"], "/p/a.txt, /p/b.txt");
  EXPECT_EQ(start[1]["rawInput"], avenor::sdk::json::parse(changes));
  EXPECT_EQ(start[1]["status"], "running");
  auto end = m.completed(kWhere, O(R"({"type":"fileChange","id":"f1","status":"failed"})"), "f1");
  EXPECT_EQ(end[0], O(R"({"event":"tool.call_update","session_id":"thr_1","item_id":"f1",)"
                      R"("turn_id":"turn_1","status":"failed"})"));
}

TEST(CodexItemMapper, McpToolCall) {
  ItemMapper m;
  auto start = m.started(kWhere,
                         O(R"({"type":"mcpToolCall","id":"m1","server":"docs","tool":"search",)"
                           R"("arguments":{"q":"x"},"status":"inProgress"})"),
                         "m1");
  EXPECT_EQ(start[1]["title"], "docs.search");
  EXPECT_EQ(start[1]["rawInput"], O(R"({"q":"x"})"));
  auto ok = m.completed(
      kWhere, O(R"({"type":"mcpToolCall","id":"m1","result":{"content":[]},"error":null})"), "m1");
  EXPECT_EQ(ok[0], O(R"({"event":"tool.call_update","session_id":"thr_1","item_id":"m1",)"
                     R"("turn_id":"turn_1","status":"completed","result":{"content":[]}})"));
  auto failed = m.completed(
      kWhere, O(R"({"type":"mcpToolCall","id":"m1","result":null,"error":{"message":"boom"}})"),
      "m1");
  EXPECT_EQ(failed[0]["status"], "failed");
  EXPECT_EQ(failed[0]["error"], O(R"({"message":"boom"})"));
  EXPECT_FALSE(failed[0].contains("result"));
}

TEST(CodexItemMapper, OtherToolLikeTypes) {
  ItemMapper m;
  auto dynamic =
      m.started(kWhere, O(R"({"type":"dynamicToolCall","id":"d1","tool":"lookup"})"), "d1");
  ASSERT_EQ(dynamic.size(), 2u);
  EXPECT_EQ(dynamic[1]["title"], "lookup");
  auto named =
      m.started(kWhere, O(R"({"type":"function_call","name":"read","title":"Read x"})"), "d2");
  EXPECT_EQ(named[1]["title"], "Read x");
  auto end = m.completed(kWhere, O(R"({"type":"dynamicToolCall","status":"failed"})"), "d1");
  EXPECT_EQ(end[0]["status"], "completed");
}

TEST(CodexItemMapper, UserMessagesAndOtherItemsOnlyGetLifecycleEvents) {
  ItemMapper m;
  for (auto type : {"userMessage", "plan", "webSearch", "contextCompaction"}) {
    auto item = O(std::string(R"({"type":")") + type + R"(","id":"u1","content":[{"text":"hi"}]})");
    auto start = m.started(kWhere, item, "u1");
    auto end = m.completed(kWhere, item, "u1");
    ASSERT_EQ(start.size(), 1u) << type;
    ASSERT_EQ(end.size(), 1u) << type;
    EXPECT_EQ(start[0]["event"], "avenor.item.start");
    EXPECT_EQ(end[0]["event"], "avenor.item.end");
    EXPECT_EQ(end[0]["item_kind"], type);
  }
}

TEST(CodexItemMapper, CompletedTextUnlessStreamed) {
  ItemMapper m;
  auto whole = m.completed(kWhere, O(R"({"type":"agentMessage","text":"hello"})"), "msg_1");
  ASSERT_EQ(whole.size(), 2u);
  EXPECT_EQ(whole[0], O(R"({"event":"agent.message_chunk","session_id":"thr_1",)"
                        R"("item_id":"msg_1","turn_id":"turn_1","delta":"hello"})"));
  m.note_streamed("msg_2");
  auto streamed = m.completed(kWhere, O(R"({"type":"agentMessage","text":"hello"})"), "msg_2");
  ASSERT_EQ(streamed.size(), 1u);
  EXPECT_EQ(streamed[0]["event"], "avenor.item.end");
  // the mark is used up: a later item with the same id is not suppressed
  EXPECT_EQ(m.completed(kWhere, O(R"({"type":"agentMessage","text":"x"})"), "msg_2").size(), 2u);
  // empty text gives no chunk
  EXPECT_EQ(m.completed(kWhere, O(R"({"type":"agentMessage","text":""})"), "msg_3").size(), 1u);
}

TEST(CodexItemMapper, ReasoningJoinsSummaryElseContent) {
  ItemMapper m;
  auto summary = m.completed(
      kWhere, O(R"({"type":"reasoning","summary":["Plan","Act"],"content":["raw"]})"), "r1");
  EXPECT_EQ(summary[0]["event"], "agent.thought_chunk");
  EXPECT_EQ(summary[0]["delta"], "Plan\nAct");
  auto content =
      m.completed(kWhere, O(R"({"type":"reasoning","summary":[],"content":["a","b"]})"), "r2");
  EXPECT_EQ(content[0]["delta"], "a\nb");
  m.note_streamed("r3");
  EXPECT_EQ(m.completed(kWhere, O(R"({"type":"reasoning","summary":["x"]})"), "r3").size(), 1u);
  EXPECT_EQ(m.started(kWhere, O(R"({"type":"reasoning"})"), "r4").size(), 1u);
}

}  // namespace
