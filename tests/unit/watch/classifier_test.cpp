// Classification rules of events.md §8.5, in order.
#include "watch/classifier.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace avenor::host::watch {
namespace {

namespace bj = boost::json;

std::string tag(const std::string& json) {
  return std::string(classify(bj::parse(json).as_object()));
}

std::string chunk(const std::string& text) {
  bj::object event{{"event", "agent.message_chunk"},
                   {"content", bj::object{{"type", "text"}, {"text", text}}}};
  return std::string(classify(event));
}

TEST(WatchClassifier, Rule1Milestones) {
  for (const char* name : {"session.end", "permission.request", "avenor.loop.start",
                           "avenor.phase.end", "avenor.loop.end", "avenor.retry", "avenor.error"})
    EXPECT_EQ(tag(std::string(R"({"event":")") + name + "\"}"), "MILESTONE") << name;
}

TEST(WatchClassifier, Rule2Activities) {
  EXPECT_EQ(tag(R"({"event":"avenor.phase.start"})"), "ACTIVITY");
  EXPECT_EQ(tag(R"({"event":"permission.response"})"), "ACTIVITY");
}

TEST(WatchClassifier, Rule3AgentStatus) {
  EXPECT_EQ(tag(R"({"event":"agent.status","phase":"done"})"), "MILESTONE");
  EXPECT_EQ(tag(R"({"event":"agent.status","phase":"waiting"})"), "MILESTONE");
  EXPECT_EQ(tag(R"({"event":"agent.status","phase":"working"})"), "ACTIVITY");
  EXPECT_EQ(tag(R"({"event":"agent.status","phase":"thinking"})"), "ACTIVITY");
  EXPECT_EQ(tag(R"({"event":"agent.status"})"), "ACTIVITY");
}

TEST(WatchClassifier, Rule4Tools) {
  EXPECT_EQ(tag(R"({"event":"tool.call","kind":"commit"})"), "MILESTONE");
  EXPECT_EQ(tag(R"({"event":"tool.call_update","kind":"COMMIT"})"), "MILESTONE");
  EXPECT_EQ(tag(R"({"event":"tool.call_update","kind":"task","status":"completed"})"), "MILESTONE");
  EXPECT_EQ(tag(R"({"event":"tool.call_update","kind":"task","status":"running"})"), "ACTIVITY");
  EXPECT_EQ(tag(R"({"event":"tool.call","kind":"execute","title":"Run Git Commit -m x"})"),
            "MILESTONE");
  EXPECT_EQ(tag(R"({"event":"tool.call","kind":"execute","command":"git commit -am wip"})"),
            "MILESTONE");
  EXPECT_EQ(tag(R"({"event":"tool.call","kind":"execute","title":"git status"})"), "ACTIVITY");
  EXPECT_EQ(tag(R"({"event":"tool.call","kind":"execute","title":"git  commit"})"), "ACTIVITY");
}

TEST(WatchClassifier, Rule5ChunkPhrases) {
  EXPECT_EQ(chunk(""), "ACTIVITY");
  EXPECT_EQ(chunk("plain progress"), "ACTIVITY");
  EXPECT_EQ(chunk("[FINDING] off by one"), "FINDING");
  EXPECT_EQ(chunk("the Reviewer Flagged this"), "FINDING");
  EXPECT_EQ(chunk("CORRECTION NEEDED here"), "FINDING");
  EXPECT_EQ(chunk("1 failed test"), "FINDING");
}

TEST(WatchClassifier, Rule5Confidence) {
  EXPECT_EQ(chunk("confidence: 60"), "FINDING");
  EXPECT_EQ(chunk("confidence:75%"), "FINDING");
  EXPECT_EQ(chunk("Confidence:   90 overall"), "FINDING");
  EXPECT_EQ(chunk("confidence: 100."), "FINDING");
  EXPECT_EQ(chunk("confidence: 59"), "ACTIVITY");
  EXPECT_EQ(chunk("confidence: 60ms"), "ACTIVITY");
  EXPECT_EQ(chunk("confidence: 75_x"), "ACTIVITY");
  EXPECT_EQ(chunk("confidence: high"), "ACTIVITY");
  EXPECT_EQ(chunk("confidence:"), "ACTIVITY");
  EXPECT_EQ(chunk("confidence: 059"), "ACTIVITY");
  EXPECT_EQ(chunk("confidence: 0060"), "FINDING");
  EXPECT_EQ(chunk("confidence: 99999999999999999999999"), "FINDING");
  // Any match counts, not only the first.
  EXPECT_EQ(chunk("confidence: 10, later confidence: 80"), "FINDING");
  EXPECT_EQ(chunk("confidence: 5ms then confidence:61%"), "FINDING");
}

TEST(WatchClassifier, Rule5ReadsOnlyContentText) {
  EXPECT_EQ(tag(R"({"event":"agent.thought_chunk","delta":"[finding] x"})"), "ACTIVITY");
  EXPECT_EQ(tag(R"({"event":"user.message_chunk","content":{"text":"[finding] x"}})"), "FINDING");
  EXPECT_EQ(tag(R"({"event":"agent.message_chunk","content":[{"text":"[finding]"}]})"), "ACTIVITY");
}

TEST(WatchClassifier, Rule6EverythingElse) {
  EXPECT_EQ(tag(R"({"event":"session.plan"})"), "ACTIVITY");
  EXPECT_EQ(tag(R"({"event":"avenor.parked"})"), "ACTIVITY");
  EXPECT_EQ(tag(R"({"no_event":true})"), "ACTIVITY");
}

}  // namespace
}  // namespace avenor::host::watch
