// --accumulate (events.md §8.6).
#include "watch/accumulator.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace avenor::host::watch {
namespace {

namespace bj = boost::json;
using Lines = std::vector<std::string>;

Lines feed(Accumulator& acc, const std::string& json) {
  return acc.process(bj::parse(json).as_object());
}

std::string msg(const std::string& session, const std::string& text,
                const std::string& type = "agent.message_chunk") {
  return bj::serialize(bj::object{{"event", type},
                                  {"session_id", session},
                                  {"content", bj::object{{"type", "text"}, {"text", text}}}});
}

TEST(WatchAccumulator, MergesARunOfChunksUntilANonChunkEvent) {
  Accumulator acc(false);
  EXPECT_EQ(feed(acc, msg("s", "Hel")), Lines{});
  EXPECT_EQ(feed(acc, msg("s", "lo\n")), Lines{});
  EXPECT_EQ(feed(acc, R"({"event":"agent.message_chunk","session_id":"s","delta":" world"})"),
            Lines{});
  EXPECT_EQ(feed(acc, R"({"event":"session.end","session_id":"s","stop_reason":"end_turn"})"),
            (Lines{"EVENT agent.message_chunk s Hello  world",
                   "EVENT session.end s stop_reason=end_turn"}));
  EXPECT_EQ(acc.flush(), Lines{});
}

TEST(WatchAccumulator, ANewKeyFlushesTheOpenBuffer) {
  Accumulator acc(false);
  feed(acc, msg("s", "think", "agent.thought_chunk"));
  EXPECT_EQ(feed(acc, msg("s", "say")), Lines{"EVENT agent.thought_chunk s think"});
  EXPECT_EQ(feed(acc, msg("t", "other")), Lines{"EVENT agent.message_chunk s say"});
  EXPECT_EQ(acc.flush(), Lines{"EVENT agent.message_chunk t other"});
}

TEST(WatchAccumulator, EmptyChunksAreIgnoredWithoutFlushing) {
  Accumulator acc(false);
  feed(acc, msg("s", "a"));
  EXPECT_EQ(feed(acc, msg("t", "")), Lines{});
  EXPECT_EQ(feed(acc, R"({"event":"agent.thought_chunk","session_id":"x"})"), Lines{});
  EXPECT_EQ(feed(acc, msg("s", "b")), Lines{});
  EXPECT_EQ(acc.flush(), Lines{"EVENT agent.message_chunk s ab"});
}

TEST(WatchAccumulator, ObjectsWithoutEventDoNothing) {
  Accumulator acc(false);
  feed(acc, msg("s", "a"));
  EXPECT_EQ(feed(acc, R"({"type":"noise"})"), Lines{});
  EXPECT_EQ(acc.flush(), Lines{"EVENT agent.message_chunk s a"});
}

TEST(WatchAccumulator, TextIsCollapsedTrimmedAndNotCut) {
  Accumulator acc(false);
  const std::string long_text(200, 'w');
  feed(acc, msg("s", "\n\t " + long_text));
  feed(acc, msg("s", "\r\n\r\nend \n"));
  EXPECT_EQ(acc.flush(), Lines{"EVENT agent.message_chunk s " + long_text + " end"});
}

TEST(WatchAccumulator, NonChunkLinesAreFormattedAsPlain) {
  Accumulator acc(false);
  EXPECT_EQ(feed(acc, R"({"event":"tool.call","session_id":"s","kind":"edit","title":"f"})"),
            Lines{"EVENT tool.call s edit:f"});
  EXPECT_EQ(feed(acc, R"({"event":"custom"})"), Lines{"EVENT custom  "});
}

TEST(WatchAccumulator, ClassifyTagsTheWholeJoinedText) {
  Accumulator acc(true);
  feed(acc, msg("s", "[fin"));
  feed(acc, msg("s", "ding] x"));
  feed(acc, R"({"event":"agent.message_chunk","session_id":"s","delta":" confidence: 9"})");
  EXPECT_EQ(feed(acc, R"({"event":"agent.status","session_id":"s","phase":"done"})"),
            (Lines{"FINDING EVENT agent.message_chunk s [finding] x confidence: 9",
                   "MILESTONE EVENT agent.status s done"}));
  // Deltas joined into the synthetic chunk count for classification.
  feed(acc, R"({"event":"agent.message_chunk","session_id":"s","delta":"confidence: 6"})");
  feed(acc, R"({"event":"agent.message_chunk","session_id":"s","delta":"5%"})");
  EXPECT_EQ(acc.flush(), Lines{"FINDING EVENT agent.message_chunk s confidence: 65%"});
  feed(acc, msg("s", "plain"));
  EXPECT_EQ(acc.flush(), Lines{"ACTIVITY EVENT agent.message_chunk s plain"});
}

}  // namespace
}  // namespace avenor::host::watch
