// The permission params (new) on their way to a runtime: stable's spawn
// params → the child's argv, and `avenor control spawn` flags → spawn params.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>

#include "control/rpc_error.hpp"
#include "control_client/control_commands.hpp"
#include "stable/spawn_request.hpp"
#include "util/json_text.hpp"

namespace avenor::host {
namespace {

boost::json::object params(const char* text) { return boost::json::parse(text).as_object(); }

std::string detail_of(const char* text) {
  try {
    parse_spawn_request(params(text));
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), rpc_code::invalid_params) << text;
    if (e.data() && e.data()->is_object()) return to_compact_json(e.data()->as_object());
    return "<no data>";
  }
  return "<accepted>";
}

bool has(const std::vector<std::string>& argv, const std::string& word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

TEST(PermissionSpawnParams, BecomeTheChildsFlags) {
  auto r = parse_spawn_request(params(
      R"({"prompt":"p","permission_policy":{"rules":[{"tool_kind":"read","action":"allow"}],
          "default":"reject"},"approve_reads":true,"deny_all":true,"permission_timeout":90,
          "permission_timeout_action":"cancel"})"));
  RuntimeCommand c;
  c.executable = "/bin/avenor";
  const auto argv = runtime_argv(r, c);
  EXPECT_TRUE(has(argv, R"(--permission-policy={"rules":[{"tool_kind":["read"],"action":"allow"}],)"
                        R"("default":"reject"})"));
  EXPECT_TRUE(has(argv, "--approve-reads"));
  EXPECT_TRUE(has(argv, "--deny-all"));
  EXPECT_TRUE(has(argv, "--permission-timeout=90s"));
  EXPECT_TRUE(has(argv, "--permission-timeout-action=cancel"));

  // Absent, null or empty: no flag at all.
  const auto plain = runtime_argv(
      parse_spawn_request(params(R"({"prompt":"p","permission_policy":null,"deny_all":false,
                                     "permission_timeout":0,"permission_policy":""})")),
      c);
  for (const auto& a : plain) {
    EXPECT_FALSE(a.starts_with("--permission-policy") || a.starts_with("--permission-timeout") ||
                 a == "--deny-all" || a == "--approve-reads")
        << a;
  }
}

TEST(PermissionSpawnParams, BadValuesAreInvalidParams) {
  EXPECT_EQ(detail_of(R"({"permission_policy":{"rules":[{"action":"maybe"}]}})"),
            R"({"detail":"permission_policy: rules[0].action: \"maybe\" is not one of allow, )"
            R"(reject, ask"})");
  EXPECT_EQ(detail_of(R"({"permission_policy":"{\"default\":1}"})"),
            R"({"detail":"permission_policy: default: 1 is not one of allow, reject, ask"})");
  EXPECT_EQ(detail_of(R"({"deny_all":true,"auto_approve":true})"),
            R"({"detail":"deny_all and auto_approve are mutually exclusive"})");
  EXPECT_EQ(detail_of(R"({"permission_timeout":-3})"),
            R"({"detail":"permission_timeout must be a non-negative number of seconds"})");
  EXPECT_EQ(detail_of(R"({"permission_timeout_action":"later"})"),
            R"({"detail":"permission_timeout_action: \"later\" is not one of reject, cancel"})");
  EXPECT_EQ(detail_of(R"({"deny_all":"yes"})"), "<no data>");  // a wrong type, as for any param
}

TEST(PermissionSpawnParams, ControlSpawnFlags) {
  using namespace control_client;
  auto parsed = parse_control_command({"spawn", "--prompt", "p", "--permission-policy",
                                       R"({"rules":[{"command":"ls*",)"
                                       R"("action":"allow"}]})",
                                       "--approve-reads", "--deny-all", "--permission-timeout",
                                       "30", "--permission-timeout-action", "reject"});
  ASSERT_TRUE(std::holds_alternative<ControlRequest>(parsed));
  EXPECT_EQ(to_compact_json(*std::get<ControlRequest>(parsed).params),
            R"({"prompt":"p","permission_policy":{"rules":[{"command":"ls*","action":"allow"}]},)"
            R"("approve_reads":true,"deny_all":true,"permission_timeout":30,)"
            R"("permission_timeout_action":"reject"})");

  auto bad = parse_control_command({"spawn", "--prompt", "p", "--permission-policy", "{"});
  ASSERT_TRUE(std::holds_alternative<UsageError>(bad));
  EXPECT_EQ(std::get<UsageError>(bad).text,
            "avenor control: spawn: --permission-policy: invalid JSON at byte 1: incomplete "
            "JSON\n");
}

}  // namespace
}  // namespace avenor::host
