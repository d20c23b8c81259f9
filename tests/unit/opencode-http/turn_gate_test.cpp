#include "opencode-http/turn_gate.hpp"

#include <gtest/gtest.h>

#include "opencode-http/reconnect_backoff.hpp"

namespace {

namespace oh = avenor::opencode_http;
using Step = oh::TurnGate::Step;

oh::PromptResult result(std::string stop, std::string text = {}) {
  oh::PromptResult r;
  r.stop_reason = std::move(stop);
  r.text = std::move(text);
  return r;
}

TEST(TurnGate, ResponseWithoutAStreamEndsAtOnce) {
  oh::TurnGate g;
  g.begin();
  EXPECT_EQ(g.response(result("end_turn", "hi"), false), Step::end);
  auto e = g.take_ending();
  EXPECT_EQ(e.stop_reason, "end_turn");
  EXPECT_EQ(e.reply_text, "hi");
  EXPECT_FALSE(e.from_stream);
  EXPECT_FALSE(g.open());
}

TEST(TurnGate, ResponseBeforeIdleWaitsForTheIdle) {
  oh::TurnGate g;
  g.begin();
  g.busy();
  EXPECT_EQ(g.response(result("end_turn"), true), Step::arm_timer);
  EXPECT_EQ(g.idle(), Step::end);
  EXPECT_EQ(g.take_ending().stop_reason, "end_turn");
  EXPECT_EQ(g.idle(), Step::wait);  // one end per turn
  EXPECT_EQ(g.timer(), Step::wait);
}

TEST(TurnGate, ResponseBeforeIdleEndsAtTheSettleTime) {
  oh::TurnGate g;
  g.begin();
  g.busy();
  EXPECT_EQ(g.response(result("MessageAbortedError"), true), Step::arm_timer);
  EXPECT_EQ(g.timer(), Step::end);
  EXPECT_EQ(g.take_ending().stop_reason, "MessageAbortedError");
}

TEST(TurnGate, ResponseAheadOfALaggingStreamWaitsForIt) {
  oh::TurnGate g;
  g.begin();
  EXPECT_EQ(g.response(result("end_turn"), true), Step::arm_timer);  // no busy seen yet
  g.busy();
  EXPECT_EQ(g.idle(), Step::end);
  EXPECT_EQ(g.take_ending().stop_reason, "end_turn");
}

TEST(TurnGate, IdleFirstThenResponseUsesTheResponse) {
  oh::TurnGate g;
  g.begin();
  g.busy();
  EXPECT_EQ(g.idle(), Step::arm_timer);
  oh::PromptResult r = result("max_tokens");
  r.usage = boost::json::object{{"input_tokens", 1}};
  EXPECT_EQ(g.response(r, true), Step::end);
  auto e = g.take_ending();
  EXPECT_EQ(e.stop_reason, "max_tokens");
  EXPECT_TRUE(e.usage);
}

TEST(TurnGate, IdleWithoutResponseFallsBackToTheStream) {
  oh::TurnGate g;
  g.begin();
  g.busy();
  g.error("MessageAbortedError", "Aborted");
  EXPECT_EQ(g.idle(), Step::arm_timer);
  EXPECT_EQ(g.timer(), Step::end);
  auto e = g.take_ending();
  EXPECT_EQ(e.stop_reason, "cancelled");
  EXPECT_EQ(e.error_message, "Aborted");
  EXPECT_TRUE(e.from_stream);
  EXPECT_EQ(g.response(result("end_turn"), true), Step::wait);  // late: ignored
}

TEST(TurnGate, OtherErrorNamesAreKept) {
  oh::TurnGate g;
  g.begin();
  g.busy();
  g.error("APIError", "");
  g.idle();
  g.timer();
  EXPECT_EQ(g.take_ending().stop_reason, "APIError");
}

TEST(TurnGate, IdleWithoutBusyIsNotAnEnd) {
  oh::TurnGate g;
  g.begin();
  EXPECT_EQ(g.idle(), Step::wait);
  g.busy();
  EXPECT_EQ(g.idle(), Step::arm_timer);
}

TEST(TurnGate, SilentResponseLeavesTheEndToTheStream) {
  oh::TurnGate g;
  g.begin();
  g.busy();
  EXPECT_EQ(g.response(result(""), true), Step::wait);
  EXPECT_EQ(g.timer(), Step::wait);
  EXPECT_EQ(g.idle(), Step::end);
  EXPECT_EQ(g.take_ending().stop_reason, "end_turn");

  g.begin();
  g.busy();
  EXPECT_EQ(g.idle(), Step::arm_timer);
  EXPECT_EQ(g.response(result("", "text"), true), Step::end);
  auto e = g.take_ending();
  EXPECT_TRUE(e.from_stream);
  EXPECT_EQ(e.reply_text, "text");
}

TEST(TurnGate, BeginClearsTheLastTurn) {
  oh::TurnGate g;
  g.begin();
  g.busy();
  g.error("APIError", "x");
  g.text_seen();
  g.response(result("end_turn"), false);
  g.take_ending();
  g.begin();
  EXPECT_FALSE(g.saw_text());
  g.busy();
  g.idle();
  g.timer();
  EXPECT_EQ(g.take_ending().stop_reason, "end_turn");
}

TEST(TurnGate, NothingHappensOutsideATurn) {
  oh::TurnGate g;
  g.busy();
  EXPECT_EQ(g.idle(), Step::wait);
  EXPECT_EQ(g.response(result("end_turn"), true), Step::wait);
  EXPECT_EQ(g.timer(), Step::wait);
}

TEST(ReconnectBackoff, DoublesToOnePointSixSecondsAndResets) {
  oh::ReconnectBackoff b;
  std::vector<long> got;
  for (int i = 0; i < 7; ++i) got.push_back(static_cast<long>(b.next().count()));
  EXPECT_EQ(got, (std::vector<long>{100, 200, 400, 800, 1600, 1600, 1600}));
  b.reset();
  EXPECT_EQ(b.next().count(), 100);
}

}  // namespace
