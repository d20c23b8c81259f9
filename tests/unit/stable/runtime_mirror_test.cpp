#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "stable/runtime.hpp"

namespace avenor::host {
namespace {

boost::json::object event(const char* text) { return boost::json::parse(text).as_object(); }

TEST(RuntimeMirror, FollowsATurnToParking) {
  RuntimeSpec spec;
  spec.runtime_id = "rt_1";
  spec.dir = "/w";
  Runtime rt(spec);
  EXPECT_EQ(rt.status, "running");
  rt.observe(event(
      R"({"event":"agent.status","phase":"thinking","label":"x","seq":1,"session_id":"s1"})"));
  EXPECT_EQ(rt.session_id, "s1");
  EXPECT_EQ(rt.phase, "thinking");
  rt.observe(event(R"({"event":"permission.request","request_id":"r1","options":[],"seq":2})"));
  EXPECT_TRUE(rt.permission);
  rt.observe(event(R"({"event":"permission.response","request_id":"r1","seq":3})"));
  EXPECT_FALSE(rt.permission);
  EXPECT_EQ(rt.answered_requests, std::vector<std::string>{"r1"});
  rt.observe(event(
      R"({"event":"session.end","stop_reason":"end_turn","final_output":"out","usage":{"a":1},"seq":4})"));
  EXPECT_EQ(rt.final_output, "out");
  EXPECT_EQ(rt.phase, "done");
  EXPECT_TRUE(rt.observe(event(R"({"event":"avenor.parked","timeout_ms":0,"seq":5})")));
  EXPECT_EQ(rt.status, "idle");
  EXPECT_EQ(rt.settled, 1u);
  EXPECT_EQ(rt.latest_seq, 5);
}

TEST(RuntimeMirror, EntryHasEveryField) {
  RuntimeSpec spec;
  spec.runtime_id = "rt_2";
  Runtime rt(spec);
  rt.final_output = std::string(5000, 'x');
  auto e = rt.entry("RUN");
  for (const char* key : {"runtime_id",
                          "session_id",
                          "run_id",
                          "label",
                          "agent",
                          "agent_profile",
                          "model",
                          "thinking",
                          "backend",
                          "effective_agent",
                          "effective_model",
                          "effective_backend",
                          "dir",
                          "status",
                          "started_at",
                          "exit_code",
                          "on_event",
                          "event_path",
                          "sentinel_file",
                          "parent_id",
                          "children",
                          "pid",
                          "runtime_pid",
                          "phase",
                          "phase_label",
                          "pending_permission",
                          "latest_seq",
                          "auto_approve"})
    EXPECT_TRUE(e.contains(key)) << key;
  EXPECT_TRUE(e.at("children").is_null());
  EXPECT_EQ(e.at("final_output").as_string().size(), 4096u);
  EXPECT_TRUE(e.at("final_output_truncated").as_bool());
}

TEST(PermissionView, DropsTheEnvelopeAndResolvesCommandPaths) {
  auto v = permission_view(
      event(R"({"event":"permission.request","request_id":"r","seq":3,"ts":1,"run_id":"x",
                "runtime_id":"rt_1","run_label":"l",
                "toolCall":{"rawInput":{"command":"cat ./a.txt '../b c' -n"}}})"),
      "/work/dir");
  EXPECT_FALSE(v.contains("seq"));
  EXPECT_FALSE(v.contains("runtime_id"));
  EXPECT_EQ(v.at("cwd").as_string(), "/work/dir");
  const auto& paths = v.at("resolved_paths").as_array();
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0].as_string(), "/work/dir/a.txt");
  EXPECT_EQ(paths[1].as_string(), "/work/b c");
  EXPECT_TRUE(v.at("path_escapes_cwd").as_bool());
}

TEST(PermissionView, ACommandInsideCwdDoesNotEscape) {
  auto v = permission_view(event(R"({"request_id":"r","command":["ls","src/x"]})"), "/w");
  EXPECT_FALSE(v.at("path_escapes_cwd").as_bool());
  auto none = permission_view(event(R"({"request_id":"r","tool":"edit"})"), "/w");
  EXPECT_FALSE(none.contains("resolved_paths"));
}

}  // namespace
}  // namespace avenor::host
