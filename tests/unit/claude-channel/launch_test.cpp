#include <gtest/gtest.h>

#include "claude-channel/guardian.hpp"
#include "claude-channel/preconditions.hpp"
#include "claude-channel/random_ids.hpp"
#include "claude-channel/tmux_commands.hpp"

namespace {

using namespace avenor::claude_channel;

TEST(ClaudeLaunch, ArgumentsFollowTheSpecOrder) {
  ClaudeLaunch l{"avenor-channel-12345678", "uuid-1", "", "", "", ""};
  EXPECT_EQ(claude_arguments(l),
            (std::vector<std::string>{"--dangerously-load-development-channels",
                                      "server:avenor-channel-12345678", "--session-id", "uuid-1",
                                      "--permission-mode", "default"}));
  l = {"s", "u", "plan", "my run", "claude-sonnet-4-5", "high"};
  EXPECT_EQ(claude_arguments(l),
            (std::vector<std::string>{"--dangerously-load-development-channels", "server:s",
                                      "--session-id", "u", "--agent", "plan", "--name", "my run",
                                      "--model", "claude-sonnet-4-5", "--effort", "high",
                                      "--permission-mode", "default"}));
}

TEST(ClaudeLaunch, PaneCommandQuotesEveryArgument) {
  EXPECT_EQ(shell_quote("it's"), "'it'\"'\"'s'");
  EXPECT_EQ(pane_command({"--name", "a b", "$(x)"}),
            "unset CLAUDE_CODE_CHILD_SESSION CLAUDE_CODE_SESSION_ID CLAUDE_PID; exec claude "
            "'--name' 'a b' '$(x)'");
  EXPECT_EQ(tmux_new_session("avenor-1", "/p", "cmd"),
            (std::vector<std::string>{"tmux", "new-session", "-d", "-s", "avenor-1", "-c", "/p",
                                      "-x", "220", "-y", "50", "cmd"}));
  EXPECT_EQ(tmux_has_session("avenor-1"),
            (std::vector<std::string>{"tmux", "has-session", "-t", "=avenor-1"}));
  EXPECT_EQ(tmux_send_keys("avenor-1", {"1", "Enter"}),
            (std::vector<std::string>{"tmux", "send-keys", "-t", "=avenor-1:", "1", "Enter"}));
}

TEST(ClaudeLaunch, VersionCheck) {
  EXPECT_EQ(check_claude_version("2.1.197 (Claude Code)\n"), std::nullopt);
  EXPECT_EQ(check_claude_version("2.1.80 (Claude Code)"), std::nullopt);
  EXPECT_NE(check_claude_version("2.1.79 (Claude Code)"), std::nullopt);
  EXPECT_NE(check_claude_version("1.0.0 (Claude Code)")->find("too old"), std::string::npos);
  EXPECT_NE(check_claude_version("claude 9.9.9")->find("does not report Claude Code"),
            std::string::npos);
  EXPECT_TRUE(help_lists_effort("  --effort <level>   Effort level"));
  EXPECT_FALSE(help_lists_effort("  --model <model>"));
}

TEST(ClaudeLaunch, GuardianGetsItsArguments) {
  const auto argv = guardian_argv("avenor-1", ".", "/usr/bin/avenor");
  ASSERT_EQ(argv.size(), 7u);
  EXPECT_EQ(argv[0], "/bin/sh");
  EXPECT_EQ(argv[4], "avenor-1");
  EXPECT_EQ(argv[6], "/usr/bin/avenor");
  EXPECT_NE(argv[2].find("kill-session"), std::string::npos);
  EXPECT_EQ(guardian_tempdir_line("/tmp/x"), "tempdir /tmp/x\n");
}

TEST(ClaudeLaunch, Ids) {
  RandomIds ids(42);
  const std::string u = ids.uuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos);
  EXPECT_EQ(ids.hex(32).size(), 32u);
  EXPECT_NE(ids.uuid(), u);
}

}  // namespace
