#include "permissions/permission_policy.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "../host/test_support.hpp"
#include "permissions/permission_facts.hpp"
#include "util/json_text.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;

// The error text a policy gives, or "" when it parses.
std::string error_of(std::string_view text) {
  try {
    parse_permission_policy_text(text);
  } catch (const PolicyError& e) {
    return e.what();
  }
  return "";
}

bj::array acp_options() {
  return bj::parse(R"([{"optionId": "once", "kind": "allow_once"},
                      {"optionId": "always", "kind": "allow_always"},
                      {"optionId": "reject", "kind": "reject_once"}])")
      .as_array();
}

PermissionFacts facts(std::string kind, std::string title = "", std::string command = "") {
  PermissionFacts f;
  f.tool_kind = std::move(kind);
  f.title = std::move(title);
  if (!command.empty()) f.command = std::move(command);
  return f;
}

TEST(GlobMatch, StarAndQuestionMark) {
  EXPECT_TRUE(glob_match("git status*", "git status --short"));
  EXPECT_TRUE(glob_match("git status*", "git status"));
  EXPECT_FALSE(glob_match("git status*", "git stash"));
  EXPECT_TRUE(glob_match("*rm -rf*", "sudo rm -rf /"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("?", ""));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_TRUE(glob_match("a?c", "aéc"));  // ? is one character, not one byte
  EXPECT_FALSE(glob_match("a?c", "abbc"));
  EXPECT_TRUE(glob_match("*/src/*.cpp", "/repo/src/deep/x.cpp"));  // * crosses '/'
  EXPECT_FALSE(glob_match("ls", "LS"));                            // case-sensitive
  EXPECT_FALSE(glob_match("ls", "ls -l"));                         // whole string
}

TEST(GlobMatch, ManyStarsStayFast) {
  const std::string text(20000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
}

TEST(PermissionPolicyParse, FullPolicyRoundTrips) {
  const auto policy = parse_permission_policy_text(R"({
    "rules": [{"tool_kind": "read", "action": "allow"},
              {"tool_kind": ["execute"], "command": "git status*", "action": "allow"},
              {"title": "*rm -rf*", "action": "reject"},
              {"option_kind": "allow_always", "action": "allow"}],
    "default": "ask"})");
  ASSERT_EQ(policy.rules.size(), 4u);
  EXPECT_EQ(policy.rules[1].command, "git status*");
  EXPECT_EQ(policy.default_action, PolicyAction::ask);
  EXPECT_FALSE(policy.inert());
  const auto again = parse_permission_policy(policy.to_json());
  EXPECT_EQ(to_compact_json(again.to_json()), to_compact_json(policy.to_json()));
  EXPECT_EQ(to_compact_json(parse_permission_policy_text("{}").to_json()), "{}");
  EXPECT_TRUE(parse_permission_policy_text(R"({"rules": [{"action": "ask"}]})").inert());
}

TEST(PermissionPolicyParse, ErrorsNameThePath) {
  EXPECT_EQ(error_of(R"({"rules": [{"action": "allow"}, {"action": "allow"},
                                   {"action": "maybe"}]})"),
            R"(rules[2].action: "maybe" is not one of allow, reject, ask)");
  EXPECT_EQ(error_of(R"({"rules": [{"tool_kind": "exec", "action": "allow"}]})"),
            R"(rules[0].tool_kind: "exec" is not one of read, edit, delete, move, search, )"
            R"(execute, think, fetch, switch_mode, other)");
  EXPECT_EQ(error_of(R"({"rules": [{"tool_kind": ["read", 3], "action": "allow"}]})"),
            R"(rules[0].tool_kind[1]: 3 is not one of read, edit, delete, move, search, )"
            R"(execute, think, fetch, switch_mode, other)");
  EXPECT_EQ(error_of(R"({"rules": [{"tool_kind": [], "action": "allow"}]})"),
            "rules[0].tool_kind: must not be an empty array");
  EXPECT_EQ(error_of(R"({"rules": [{"title": 5, "action": "allow"}]})"),
            "rules[0].title: 5 is not a string (a glob with * and ?)");
  EXPECT_EQ(error_of(R"({"rules": [{"tool": "bash", "action": "allow"}]})"),
            R"(rules[0]: unknown key "tool" (known: tool_kind, title, command, option_kind, )"
            R"(action))");
  EXPECT_EQ(error_of(R"({"rules": [{"title": "x"}]})"),
            R"(rules[0]: "action" is required (allow, reject or ask))");
  EXPECT_EQ(error_of(R"({"rules": [{"option_kind": "reject_once", "action": "allow"}]})"),
            R"(rules[0].option_kind: "reject_once" cannot be chosen by action allow)");
  EXPECT_EQ(error_of(R"({"rules": {}})"), "rules: {} is not an array");
  EXPECT_EQ(error_of(R"({"rules": [7]})"), "rules[0]: 7 is not an object");
  EXPECT_EQ(error_of(R"({"default": "deny"})"),
            R"(default: "deny" is not one of allow, reject, ask)");
  EXPECT_EQ(error_of(R"({"rule": []})"), R"(unknown key "rule" (known: rules, default))");
  EXPECT_EQ(error_of("[]"), "the policy must be a JSON object, not []");
  EXPECT_EQ(error_of(R"({"rules": [)"), "invalid JSON at byte 11: incomplete JSON");
}

TEST(PermissionPolicyParse, SizeAndDepthLimits) {
  EXPECT_NE(error_of(R"({"rules": [[[[[[[[[[1]]]]]]]]]]})").find("invalid JSON"),
            std::string::npos);
  std::string many = R"({"rules": [)";
  for (std::size_t i = 0; i <= kMaxPolicyRules; ++i)
    many += std::string(i ? "," : "") + R"({"action": "ask"})";
  many += "]}";
  EXPECT_EQ(error_of(many), "rules: more than 256 rules");
  const std::string long_glob =
      R"({"rules": [{"title": ")" + std::string(5000, 'x') + R"(", "action": "ask"}]})";
  EXPECT_EQ(error_of(long_glob), "rules[0].title: longer than 4096 bytes");
  EXPECT_EQ(error_of(std::string(kMaxPolicyBytes + 1, ' ')), "larger than 1048576 bytes");
}

TEST(PermissionPolicyLoad, InlineOrFile) {
  test::TempDir dir;
  EXPECT_EQ(load_permission_policy(R"({"default": "reject"})").default_action,
            PolicyAction::reject);
  const auto file = dir / "policy.json";
  std::ofstream(file) << R"({"rules": [{"action": "sometimes"}]})";
  try {
    load_permission_policy(file.string());
    FAIL() << "no error";
  } catch (const PolicyError& e) {
    EXPECT_EQ(std::string(e.what()),
              file.string() + R"(: rules[0].action: "sometimes" is not one of allow, reject, ask)");
  }
  std::ofstream(file, std::ios::trunc) << R"({"default": "allow"})";
  EXPECT_EQ(load_permission_policy(file.string()).default_action, PolicyAction::allow);

  const auto fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(
      {
        try {
          load_permission_policy(fifo.string());
        } catch (const PolicyError& e) {
          EXPECT_EQ(std::string(e.what()), fifo.string() + " is not a regular file");
          throw;
        }
      },
      PolicyError);
  EXPECT_THROW(load_permission_policy((dir / "missing.json").string()), PolicyError);
  EXPECT_THROW(load_permission_policy(dir.path().string()), PolicyError);
}

TEST(PermissionPolicyFlags, ShorthandsWrapThePolicy) {
  auto p = policy_from_flags(R"({"rules": [{"command": "ls*", "action": "allow"}]})", true, true);
  ASSERT_EQ(p.rules.size(), 3u);
  EXPECT_EQ(p.rules.front().tool_kinds, (std::vector<std::string>{"read", "search"}));
  EXPECT_EQ(p.rules.back().action, PolicyAction::reject);
  EXPECT_EQ(p.rules.front().label, "approve_reads");
  EXPECT_EQ(p.rules[1].label, "rules[0]");
  EXPECT_EQ(p.rules.back().label, "deny_all");
  EXPECT_TRUE(p.rules.back().tool_kinds.empty());
  EXPECT_TRUE(policy_from_flags("", false, false).inert());
  try {
    policy_from_flags(R"({"rules": 1})", false, false);
    FAIL() << "no error";
  } catch (const PolicyError& e) {
    EXPECT_EQ(std::string(e.what()), "--permission-policy: rules: 1 is not an array");
  }
}

TEST(PermissionPolicyDecide, FirstMatchWinsAndDefault) {
  const auto policy = parse_permission_policy_text(R"({
    "rules": [{"tool_kind": "read", "action": "allow"},
              {"command": "git status*", "action": "allow"},
              {"title": "*rm -rf*", "action": "reject"},
              {"tool_kind": "edit", "action": "ask"}],
    "default": "reject"})");
  auto d = decide_permission(policy, facts("read", "cat x"), acp_options());
  EXPECT_EQ(d.action, PolicyAction::allow);
  EXPECT_EQ(d.rule, "rules[0]");
  EXPECT_EQ(d.option_id, "once");  // allow_once before allow_always
  EXPECT_EQ(d.kind, sdk::OptionKind::allow);

  d = decide_permission(policy, facts("execute", "git", "git status -s"), acp_options());
  EXPECT_EQ(d.rule, "rules[1]");
  EXPECT_EQ(d.action, PolicyAction::allow);

  d = decide_permission(policy, facts("execute", "rm -rf /tmp/x", "rm -rf /tmp/x"), acp_options());
  EXPECT_EQ(d.rule, "rules[2]");
  EXPECT_EQ(d.action, PolicyAction::reject);
  EXPECT_EQ(d.option_id, "reject");

  d = decide_permission(policy, facts("edit", "write a.txt"), acp_options());
  EXPECT_EQ(d.rule, "rules[3]");
  EXPECT_EQ(d.action, PolicyAction::ask);

  d = decide_permission(policy, facts("fetch", "curl"), acp_options());
  EXPECT_EQ(d.rule, "default");
  EXPECT_EQ(d.action, PolicyAction::reject);  // the default

  // A command rule never matches a request without a command.
  d = decide_permission(policy, facts("execute", "git status"), acp_options());
  EXPECT_EQ(d.rule, "default");
}

TEST(PermissionPolicyDecide, OptionKinds) {
  const auto policy = parse_permission_policy_text(R"({
    "rules": [{"option_kind": "allow_always", "action": "allow"}]})");
  auto d = decide_permission(policy, facts("execute"), acp_options());
  EXPECT_EQ(d.option_id, "always");
  EXPECT_EQ(d.rule, "rules[0]");
  // Not offered: the rule does not match, the default (ask) stands.
  const auto once_only =
      bj::parse(R"([{"optionId": "y", "kind": "allow_once"}, {"optionId": "n", "kind": "deny"}])")
          .as_array();
  d = decide_permission(policy, facts("execute"), once_only);
  EXPECT_EQ(d.action, PolicyAction::ask);
  EXPECT_EQ(d.rule, "default");

  // `reject` names the class: deny counts; deny_once reads as reject_once.
  const auto rejecting = parse_permission_policy_text(R"({
    "rules": [{"option_kind": "reject_once", "action": "reject"}, {"action": "reject"}]})");
  d = decide_permission(rejecting, facts("execute"),
                        bj::parse(R"([{"optionId": "no", "kind": " Deny_Once "}])").as_array());
  EXPECT_EQ(d.rule, "rules[0]");
  EXPECT_EQ(d.option_id, "no");
  d = decide_permission(rejecting, facts("execute"), once_only);
  EXPECT_EQ(d.rule, "rules[1]");
  EXPECT_EQ(d.option_id, "n");
}

TEST(PermissionPolicyDecide, NoOptionOfTheKindFallsToAsk) {
  const auto deny = parse_permission_policy_text(R"({"default": "reject"})");
  const auto allow_only = bj::parse(R"([{"optionId": "ok", "kind": "allow"}])").as_array();
  EXPECT_EQ(decide_permission(deny, facts("execute"), allow_only).action, PolicyAction::ask);
  const auto only_always = bj::parse(R"([{"optionId": "a", "kind": "allow_always"}])").as_array();
  const auto allow = parse_permission_policy_text(R"({"default": "allow"})");
  auto d = decide_permission(allow, facts("other"), only_always);
  EXPECT_EQ(d.action, PolicyAction::allow);
  EXPECT_EQ(d.option_id, "a");
  EXPECT_EQ(decide_permission(allow, facts("other"), bj::array{}).action, PolicyAction::ask);
}

TEST(PermissionFacts, AcpRequest) {
  const auto e = bj::parse(R"({"event": "permission.request", "request_id": "0",
      "toolCall": {"toolCallId": "c1", "title": "ls -la", "kind": "execute",
                   "rawInput": {"command": ["ls", "-la"]}}})")
                     .as_object();
  const auto f = describe_permission("opencode-acp", e);
  EXPECT_EQ(f.tool_kind, "execute");
  EXPECT_EQ(f.title, "ls -la");
  EXPECT_EQ(f.command, "ls -la");
  const auto odd = bj::parse(R"({"toolCall": {"kind": "teleport"}, "tool": "t"})").as_object();
  EXPECT_EQ(describe_permission("gemini-acp", odd).tool_kind, "other");
  EXPECT_EQ(describe_permission("gemini-acp", odd).title, "t");
}

TEST(PermissionFacts, OtherBackends) {
  auto codex = bj::parse(R"({"kind": "command", "tool": "item/commandExecution/requestApproval",
                             "command": "npm test"})")
                   .as_object();
  auto f = describe_permission("codex-app-server", codex);
  EXPECT_EQ(f.tool_kind, "execute");
  EXPECT_EQ(f.command, "npm test");
  codex["kind"] = "file";
  EXPECT_EQ(describe_permission("codex-app-server", codex).tool_kind, "edit");

  const auto http = bj::parse(R"({"permission": "bash", "patterns": ["echo hi"],
                                  "tool": "permission.bash"})")
                        .as_object();
  f = describe_permission("opencode-http", http);
  EXPECT_EQ(f.tool_kind, "execute");
  EXPECT_EQ(f.command, "echo hi");
  EXPECT_EQ(f.title, "permission.bash");

  // pi: `kind` is the dialog kind, the tool name says what it does.
  const auto pi = bj::parse(R"({"kind": "confirm", "tool": "read", "question": "Read?",
                                "input": {"path": "a"}})")
                      .as_object();
  EXPECT_EQ(describe_permission("pi", pi).tool_kind, "read");
  const auto claude = bj::parse(R"({"tool": "WebFetch", "question": "Fetch?"})").as_object();
  EXPECT_EQ(describe_permission("claude-channel", claude).tool_kind, "fetch");
  const auto bare = bj::parse(R"({"question": "Go on?"})").as_object();
  EXPECT_EQ(describe_permission("claude-channel", bare).title, "Go on?");
  EXPECT_EQ(describe_permission("claude-channel", bare).tool_kind, "other");
}

}  // namespace
}  // namespace avenor::host
