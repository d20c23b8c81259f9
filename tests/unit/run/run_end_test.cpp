#include "run/run_end.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace avenor::host {
namespace {

namespace bj = boost::json;

TEST(SyntheticSessionEnd, CarriesTheExitCodeOfItsStopReason) {
  EXPECT_EQ(synthetic_session_end("ses_1", "timeout"), (bj::object{{"event", "session.end"},
                                                                   {"stop_reason", "timeout"},
                                                                   {"exit_code", 124},
                                                                   {"session_id", "ses_1"}}));
  EXPECT_EQ(synthetic_session_end("", "cancelled").at("exit_code"), 130);
  EXPECT_FALSE(synthetic_session_end("", "cancelled").contains("session_id"));
}

TEST(SyntheticSessionEnd, AFailureSaysWhy) {
  const bj::object end = synthetic_session_end("", "error", "start session: boom");
  EXPECT_EQ(end.at("exit_code"), 1);
  EXPECT_EQ(end.at("error"), "start session: boom");
  EXPECT_EQ(synthetic_session_end("s", "session_id_conflict", "x").at("exit_code"), 1);
}

TEST(LogEnding, TracksOpenLoopsAndTheLastEnd) {
  LogEnding log;
  EXPECT_FALSE(log.ends_with_session_end());
  log.observe("session.end");
  EXPECT_TRUE(log.ends_with_session_end());
  log.observe("avenor.retry");
  EXPECT_FALSE(log.ends_with_session_end());
  log.observe("avenor.loop.start");
  log.observe("avenor.loop.start");
  log.observe("avenor.loop.end");
  EXPECT_EQ(log.open_loops(), 1);
  log.observe("avenor.loop.end");
  log.observe("avenor.loop.end");  // never below zero
  EXPECT_EQ(log.open_loops(), 0);
}

}  // namespace
}  // namespace avenor::host
