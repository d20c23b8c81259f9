// --until-end decisions (events.md §8.8).
#include "watch/until_end.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace avenor::host::watch {
namespace {

namespace bj = boost::json;
using Verdict = UntilEndTracker::Verdict;

Verdict see(UntilEndTracker& t, const std::string& json) {
  const bj::value v = bj::parse(json);
  return t.observe(&v.as_object());
}

std::string end(const std::string& reason) {
  return R"({"event":"session.end","stop_reason":")" + reason + "\"}";
}

TEST(WatchUntilEnd, SessionEndMappingToAnExitOtherThanOneStopsAtOnce) {
  for (const char* reason : {"end_turn", "refusal", "max_tokens", "max_turn_requests", "timeout",
                             "progress_timeout", "cancelled", "blocked"}) {
    UntilEndTracker t;
    EXPECT_EQ(see(t, R"({"event":"agent.message_chunk"})"), Verdict::keep_watching);
    EXPECT_EQ(see(t, end(reason)), Verdict::stop_now) << reason;
    EXPECT_FALSE(t.grace_pending());
  }
}

TEST(WatchUntilEnd, SessionEndMappingToExitOneWaitsForAGrace) {
  for (const char* reason : {"error", "", "tool_use", "session_id_conflict", "whatever"}) {
    UntilEndTracker t;
    EXPECT_EQ(see(t, end(reason)), Verdict::stop_after_grace) << reason;
    EXPECT_TRUE(t.grace_pending());
  }
  UntilEndTracker t;
  EXPECT_EQ(see(t, R"({"event":"session.end"})"), Verdict::stop_after_grace);
}

TEST(WatchUntilEnd, AnyLaterLineCancelsThePendingStop) {
  UntilEndTracker t;
  see(t, end("error"));
  EXPECT_EQ(see(t, R"({"event":"avenor.retry","attempt":2,"max_retries":1})"),
            Verdict::keep_watching);
  EXPECT_FALSE(t.grace_pending());
  see(t, end("error"));
  EXPECT_EQ(t.observe(nullptr), Verdict::keep_watching);  // a malformed line
  EXPECT_FALSE(t.grace_pending());
  EXPECT_EQ(see(t, end("end_turn")), Verdict::stop_now);
}

TEST(WatchUntilEnd, LoopLogsEndOnlyAtDepthZeroLoopEnd) {
  UntilEndTracker t;
  EXPECT_EQ(see(t, R"({"event":"avenor.loop.start"})"), Verdict::keep_watching);
  EXPECT_TRUE(t.loop_log());
  EXPECT_EQ(see(t, R"({"event":"avenor.phase.start"})"), Verdict::keep_watching);
  EXPECT_EQ(see(t, end("end_turn")), Verdict::keep_watching);
  EXPECT_EQ(see(t, end("error")), Verdict::keep_watching);
  EXPECT_FALSE(t.grace_pending());
  EXPECT_EQ(see(t, R"({"event":"avenor.loop.start"})"), Verdict::keep_watching);  // nested
  EXPECT_EQ(t.loop_depth(), 2);
  EXPECT_EQ(see(t, R"({"event":"avenor.loop.end"})"), Verdict::keep_watching);
  EXPECT_EQ(see(t, R"({"event":"avenor.phase.end"})"), Verdict::keep_watching);
  EXPECT_EQ(see(t, R"({"event":"avenor.loop.end"})"), Verdict::stop_now);
  EXPECT_EQ(t.loop_depth(), 0);
}

TEST(WatchUntilEnd, PhaseEventsMakeALoopLogAndDepthNeverGoesNegative) {
  UntilEndTracker t;
  EXPECT_EQ(see(t, R"({"event":"avenor.phase.start"})"), Verdict::keep_watching);
  EXPECT_EQ(see(t, end("end_turn")), Verdict::keep_watching);
  EXPECT_EQ(see(t, R"({"event":"avenor.loop.end"})"), Verdict::stop_now);
  EXPECT_EQ(see(t, R"({"event":"avenor.loop.end"})"), Verdict::stop_now);
  EXPECT_EQ(t.loop_depth(), 0);
}

TEST(WatchUntilEnd, ASessionEndBeforeAnyLoopEventIsASingleRunEnd) {
  UntilEndTracker t;
  EXPECT_EQ(see(t, end("end_turn")), Verdict::stop_now);
}

}  // namespace
}  // namespace avenor::host::watch
