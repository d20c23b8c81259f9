#include "claude/launch.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace {

using namespace avenor::claude;
using avenor::sdk::StartOptions;

TEST(ClaudeLaunch, LaunchesClaudeWithTheSessionFlag) {
  StartOptions o;
  o.dir = "/tmp";
  auto spec = launch_spec(o, SessionFlag{"--session-id", "u-1"});
  EXPECT_EQ(spec.argv, (std::vector<std::string>{
                           "claude", "-p", "--input-format", "stream-json", "--output-format",
                           "stream-json", "--verbose", "--include-partial-messages",
                           "--permission-prompt-tool", "stdio", "--session-id", "u-1"}));
  EXPECT_EQ(spec.cwd, "/tmp");
  EXPECT_EQ(spec.eof_grace, kCloseGrace);
  EXPECT_NE(std::find(spec.unset_env.begin(), spec.unset_env.end(), "CLAUDECODE"),
            spec.unset_env.end());
}

TEST(ClaudeLaunch, ModelEffortAndAgentFlags) {
  StartOptions o;
  o.model = "claude-sonnet-4-5";
  o.thinking = "xhigh";
  o.agent = "reviewer";
  auto argv = claude_argv(o);
  const std::vector<std::string> tail(argv.end() - 6, argv.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"--model", "claude-sonnet-4-5", "--effort", "xhigh",
                                            "--agent", "reviewer"}));
}

TEST(ClaudeLaunch, ResumeIds) {
  EXPECT_TRUE(valid_resume_id("0badc0de-0000-4000-8000-000000000000"));
  EXPECT_FALSE(valid_resume_id(""));
  EXPECT_FALSE(valid_resume_id("-rf"));
  EXPECT_FALSE(valid_resume_id("a b"));
  EXPECT_FALSE(valid_resume_id("a\nb"));
  EXPECT_FALSE(valid_resume_id(std::string(201, 'a')));
}

}  // namespace
