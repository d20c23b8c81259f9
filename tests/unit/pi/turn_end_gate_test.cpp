#include "pi/turn_end_gate.hpp"

#include <gtest/gtest.h>

namespace {

using namespace avenor::pi;
using Kind = TurnEndGate::Action::Kind;
namespace bj = boost::json;

AgentEnd ended(std::string stop, std::string error = {}) {
  AgentEnd e;
  e.stop_reason = std::move(stop);
  e.error_message = std::move(error);
  return e;
}

TEST(PiTurnEndGate, ASuccessfulOrCancelledEndFinishesAtOnce) {
  TurnEndGate g;
  auto a = g.on_agent_end(ended("end_turn"));
  EXPECT_EQ(a.kind, Kind::finish);
  EXPECT_EQ(a.end.stop_reason, "end_turn");
  EXPECT_EQ(g.on_agent_end(ended("cancelled")).kind, Kind::finish);
}

TEST(PiTurnEndGate, WillRetryIsNotTerminal) {
  TurnEndGate g;
  AgentEnd e = ended("error", "overloaded");
  e.will_retry = true;
  auto a = g.on_agent_end(e);
  EXPECT_EQ(a.kind, Kind::retrying);
  EXPECT_EQ(g.on_event("agent_start", {}).kind, Kind::none);
  EXPECT_EQ(g.on_agent_end(ended("end_turn")).kind, Kind::finish);
}

// pi 0.73.1: agent_end(error) then auto_retry_start, sleep, agent_start … agent_end.
TEST(PiTurnEndGate, AnErrorFollowedByAutoRetryIsNotTerminal) {
  TurnEndGate g;
  EXPECT_EQ(g.on_agent_end(ended("error", "500 injected failure")).kind, Kind::probe);
  EXPECT_TRUE(g.waiting_for_probe());
  auto a = g.on_event("auto_retry_start", bj::object{{"attempt", 1}});
  EXPECT_EQ(a.kind, Kind::retrying);
  EXPECT_TRUE(a.end.will_retry);
  EXPECT_EQ(a.end.error_message, "500 injected failure");
  EXPECT_EQ(g.on_probe_answered().kind, Kind::none) << "the probe answer no longer matters";
  EXPECT_EQ(g.on_event("agent_start", {}).kind, Kind::none);
  EXPECT_EQ(g.on_agent_end(ended("end_turn")).kind, Kind::finish);
}

TEST(PiTurnEndGate, AnErrorWithNothingAfterItEndsWhenTheProbeIsAnswered) {
  TurnEndGate g;
  g.on_agent_end(ended("error", "401 bad key"));
  EXPECT_EQ(g.on_event("auto_retry_end", bj::object{}).kind, Kind::finish)
      << "retries exhausted right after the agent_end";
  g.reset();
  g.on_agent_end(ended("error", "401 bad key"));
  auto a = g.on_probe_answered();
  EXPECT_EQ(a.kind, Kind::finish);
  EXPECT_EQ(a.end.stop_reason, "error");
  EXPECT_EQ(a.end.error_message, "401 bad key");
  EXPECT_FALSE(a.end.will_retry);
}

TEST(PiTurnEndGate, OverflowCompactionRetriesOnlyWhenItSaysSo) {
  TurnEndGate g;
  g.on_agent_end(ended("error", "context overflow"));
  EXPECT_EQ(g.on_event("compaction_start", {}).kind, Kind::none);
  EXPECT_EQ(g.on_probe_answered().kind, Kind::none) << "compaction is still running";
  EXPECT_EQ(g.on_event("compaction_end", bj::object{{"willRetry", true}}).kind, Kind::retrying);

  g.reset();
  g.on_agent_end(ended("error", "context overflow"));
  g.on_event("compaction_start", {});
  auto a = g.on_event("compaction_end", bj::object{{"willRetry", false}});
  EXPECT_EQ(a.kind, Kind::finish);
  EXPECT_EQ(a.end.stop_reason, "error");
}

TEST(PiTurnEndGate, GivingUpBetweenRetriesEndsTheTurn) {
  TurnEndGate g;
  g.on_agent_end(ended("error", "500"));
  g.on_event("auto_retry_start", {});
  auto a =
      g.on_event("auto_retry_end", bj::object{{"success", false}, {"finalError", "500 again"}});
  EXPECT_EQ(a.kind, Kind::finish);
  EXPECT_EQ(a.end.stop_reason, "error");
  EXPECT_EQ(a.end.error_message, "500 again");
}

TEST(PiTurnEndGate, AbortDuringTheRetrySleepIsACancellation) {
  TurnEndGate g;
  g.on_agent_end(ended("error", "500"));
  g.on_event("auto_retry_start", {});
  g.on_abort_requested();
  auto a = g.on_event("auto_retry_end",
                      bj::object{{"success", false}, {"finalError", "Retry cancelled"}});
  EXPECT_EQ(a.kind, Kind::finish);
  EXPECT_EQ(a.end.stop_reason, "cancelled");
  EXPECT_EQ(g.on_abort_answered().kind, Kind::none) << "already finished";

  // Should pi stay silent, the abort's answer settles it.
  g.reset();
  g.on_agent_end(ended("error", "500"));
  g.on_event("auto_retry_start", {});
  g.on_abort_requested();
  EXPECT_EQ(g.on_abort_answered().end.stop_reason, "cancelled");
}

TEST(PiTurnEndGate, EventsWhileRunningChangeNothing) {
  TurnEndGate g;
  EXPECT_EQ(g.on_event("auto_retry_end", bj::object{{"success", true}}).kind, Kind::none);
  EXPECT_EQ(g.on_probe_answered().kind, Kind::none);
  EXPECT_EQ(g.on_abort_answered().kind, Kind::none);
}

}  // namespace
