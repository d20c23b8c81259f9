#include "claude-channel/transcript.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace {

using namespace avenor::claude_channel;
namespace bj = boost::json;

TEST(Transcript, Paths) {
  EXPECT_EQ(mangle_project_dir("/tmp/cexp/proj_2.x"), "-tmp-cexp-proj-2-x");
  EXPECT_EQ(transcript_path("/h/.claude/", "/tmp/p", "abc"),
            "/h/.claude/projects/-tmp-p/abc.jsonl");
}

TEST(Transcript, Timestamps) {
  EXPECT_EQ(parse_timestamp_ms("1970-01-01T00:00:01.500Z"), 1500);
  EXPECT_EQ(parse_timestamp_ms("2026-11-24T03:01:53.880Z"), 1795489313880);
  EXPECT_EQ(parse_timestamp_ms("2026-11-24T03:01:53Z"), 1795489313000);
  EXPECT_EQ(parse_timestamp_ms("yesterday"), std::nullopt);
}

TEST(Transcript, MapsBlocksAndEndsTheTurn) {
  const std::string lines =
      R"({"type":"mode","mode":"normal"})"
      "\n"
      R"({"type":"user","timestamp":"2026-11-24T03:01:53.041Z","message":{"role":"user","content":"Say hello"}})"
      "\n"
      R"({"type":"assistant","timestamp":"2026-11-24T03:01:53.500Z","message":{"content":[{"type":"thinking","thinking":"hm"},{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}],"stop_reason":"tool_use"}})"
      "\n"
      R"({"type":"user","timestamp":"2026-11-24T03:01:53.600Z","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"a.txt"}]}]}})"
      "\n"
      R"({"type":"assistant","timestamp":"2026-11-24T03:01:53.880Z","message":{"content":[{"type":"text","text":"HELLO"}],"stop_reason":"end_turn"}})"
      "\n"
      "not json\n";
  const auto batch = map_transcript_lines(lines, "s1", 1795489313000);
  EXPECT_EQ(batch.records, 5);
  EXPECT_TRUE(batch.end_turn);
  ASSERT_EQ(batch.events.size(), 5u);
  EXPECT_EQ(batch.events[0].at("event"), "user.message_chunk");
  EXPECT_EQ(batch.events[0].at("delta"), "Say hello");
  EXPECT_EQ(batch.events[1].at("event"), "agent.thought_chunk");
  EXPECT_EQ(batch.events[2].at("event"), "tool.call");
  EXPECT_EQ(batch.events[2].at("tool_use_id"), "t1");
  EXPECT_EQ(batch.events[2].at("title"), "Bash");
  EXPECT_EQ(batch.events[2].at("status"), "running");
  EXPECT_EQ(batch.events[2].at("input"), bj::parse(R"({"command":"ls"})"));
  EXPECT_EQ(batch.events[3].at("event"), "tool.call_update");
  EXPECT_EQ(batch.events[3].at("delta"), "a.txt");
  EXPECT_EQ(batch.events[4].at("event"), "agent.message_chunk");
  EXPECT_EQ(batch.events[4].at("delta"), "HELLO");
  EXPECT_EQ(batch.events[4].at("session_id"), "s1");
}

TEST(Transcript, AnEarlierTurnCannotEndThisOne) {
  const std::string old_end =
      R"({"type":"assistant","timestamp":"2026-11-24T03:01:53.880Z","message":{"content":[{"type":"text","text":"old"}],"stop_reason":"end_turn"}})"
      "\n";
  const auto batch = map_transcript_lines(old_end, "s1", 1795489320000);
  EXPECT_FALSE(batch.end_turn);
  EXPECT_EQ(batch.events.size(), 1u);  // the text still counts
}

TEST(Transcript, ApiErrorRecords) {
  const std::string error =
      R"({"type":"assistant","timestamp":"2026-11-24T03:05:32.065Z","error":"server_error","isApiErrorMessage":true,"message":{"model":"<synthetic>","content":[{"type":"text","text":"API Error: 500 boom"}],"stop_reason":"stop_sequence"}})"
      "\n";
  const auto batch = map_transcript_lines(error, "s1", 0);
  EXPECT_FALSE(batch.end_turn);
  ASSERT_TRUE(batch.api_error);
  EXPECT_EQ(*batch.api_error, "API Error: 500 boom");
}

}  // namespace
