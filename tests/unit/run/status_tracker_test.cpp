#include "run/status_tracker.hpp"

#include <gtest/gtest.h>

namespace avenor::host {
namespace {

boost::json::object ev(const char* type) { return {{"event", type}}; }

TEST(StatusTracker, ThinkingWorkingDone) {
  StatusTracker t;
  auto c = t.observe(ev("agent.thought_chunk"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->phase, "thinking");
  EXPECT_FALSE(t.observe(ev("agent.thought_chunk")));
  auto call = ev("tool.call");
  call["title"] = "ls";
  c = t.observe(call);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->phase, "working");
  EXPECT_EQ(c->label, "ls");
  EXPECT_FALSE(t.observe(call));  // same label: no event
  c = t.observe(ev("session.end"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->phase, "done");
  EXPECT_FALSE(t.observe(ev("agent.thought_chunk")));  // ignored once done
}

TEST(StatusTracker, PermissionWaitsThenResumesKeepingOnlyMarkerLabels) {
  StatusTracker t;
  auto req = ev("permission.request");
  req["question"] = "Run rm?";
  auto c = t.observe(req);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->phase, "waiting");
  EXPECT_EQ(c->label, "Run rm?");
  auto call = ev("tool.call");
  call["title"] = "x";
  EXPECT_FALSE(t.observe(call));  // ignored while waiting
  c = t.permission_resolved();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->phase, "working");
  EXPECT_EQ(c->label, "");

  t.set_from_marker("working", "from marker");
  t.observe(req);
  c = t.permission_resolved();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->label, "from marker");
}

}  // namespace
}  // namespace avenor::host
