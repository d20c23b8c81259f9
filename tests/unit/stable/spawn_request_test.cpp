#include "stable/spawn_request.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "control/rpc_error.hpp"

namespace avenor::host {
namespace {

boost::json::object params(const char* text) { return boost::json::parse(text).as_object(); }

TEST(SpawnRequest, ReadsEveryParam) {
  auto r = parse_spawn_request(params(
      R"({"prompt":"p","dir":"/w","agent":"a","model":"m","thinking":"high","backend":"pi",
          "agent_profile":"ap","label":"l","server_url":"http://x","on_event":"e","sentinel_file":"s",
          "permission_handler":"file:/b","auto_approve":true,"timeout":30,"max_retries":2,
          "session_id":"ses","parent_id":"rt_1","idempotency_key":"k","label_derived":true,
          "runtime_id":"rt_9","unknown":1})"));
  EXPECT_EQ(r.prompt, "p");
  EXPECT_EQ(r.dir, "/w");
  EXPECT_TRUE(r.auto_approve);
  EXPECT_EQ(r.timeout_seconds, 30);
  EXPECT_EQ(r.max_retries, 2);
  EXPECT_EQ(r.session_id, "ses");
  EXPECT_EQ(r.runtime_id, "rt_9");
  EXPECT_TRUE(r.label_derived);
}

TEST(SpawnRequest, WrongTypesAreInvalidParams) {
  for (const char* bad : {R"({"prompt":1})", R"({"auto_approve":"yes"})", R"({"timeout":"30s"})",
                          R"({"timeout":1.5})", R"({"max_retries":-1})", R"({"dir":[]})"}) {
    try {
      parse_spawn_request(params(bad));
      ADD_FAILURE() << bad;
    } catch (const RpcError& e) {
      EXPECT_EQ(e.code(), rpc_code::invalid_params) << bad;
    }
  }
}

TEST(SpawnRequest, ArgvUsesNameEqualsValueAndOmitsEmptyFields) {
  auto r = parse_spawn_request(params(R"({"prompt":"-x starts with a dash","auto_approve":true,
                                          "timeout":7,"session_id":"ses"})"));
  RuntimeCommand c;
  c.executable = "/bin/avenor";
  c.run_id = "RUN";
  c.runtime_id = "rt_3";
  c.control_socket = "/s/rt_3/control.sock";
  c.on_event = "/s/e";
  c.sentinel_file = "/s/x";
  c.parked_timeout = "30m0s";
  const std::vector<std::string> want{"/bin/avenor",
                                      "run",
                                      "--run-id=RUN",
                                      "--runtime-id=rt_3",
                                      "--control-socket=/s/rt_3/control.sock",
                                      "--on-event=/s/e",
                                      "--sentinel-file=/s/x",
                                      "--permission-claim-timeout=0",
                                      "--prompt=-x starts with a dash",
                                      "--dir=.",
                                      "--auto-approve",
                                      "--timeout=7s",
                                      "--resume=ses",
                                      "--parked-timeout=30m0s"};
  EXPECT_EQ(runtime_argv(r, c), want);
}

TEST(SpawnRequest, LoopRuntimesGetNoParkedTimeout) {
  auto r = parse_spawn_request(params(R"({"loop_file":"l.yaml"})"));
  RuntimeCommand c;
  c.executable = "/bin/avenor";
  c.backend = "pi";
  auto argv = runtime_argv(r, c);
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--loop-file=l.yaml"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--backend=pi"), argv.end());
  for (const auto& a : argv) EXPECT_FALSE(a.starts_with("--parked-timeout")) << a;
}

}  // namespace
}  // namespace avenor::host
