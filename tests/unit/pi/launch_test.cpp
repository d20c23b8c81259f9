#include "pi/launch.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

namespace {

using avenor::pi::launch_spec;
using avenor::pi::pi_thinking_level;
using avenor::sdk::StartOptions;
using Argv = std::vector<std::string>;

TEST(PiLaunch, PlainRunIsRpcWithoutSessionFiles) {
  StartOptions o;
  o.dir = "/work/proj/";
  auto spec = launch_spec(o);
  EXPECT_EQ(spec.argv, (Argv{"pi", "--mode", "rpc", "--no-session"}));
  EXPECT_EQ(spec.cwd, "/work/proj");
  EXPECT_TRUE(spec.env.empty());
  EXPECT_EQ(spec.unset_env, (Argv{"PI_AGENT", "PI_AGENT_PROFILE"}));
  EXPECT_EQ(spec.eof_grace, std::chrono::seconds(5)) << "close stdin, wait 5 s, kill";
}

TEST(PiLaunch, ModelAndThinkingBecomeFlags) {
  StartOptions o;
  o.model = "fake/fake-model";
  o.thinking = "high";
  EXPECT_EQ(launch_spec(o).argv, (Argv{"pi", "--mode", "rpc", "--no-session", "--model",
                                       "fake/fake-model", "--thinking", "high"}));
}

TEST(PiLaunch, MaxIsSentAsPisHighestLevel) {
  EXPECT_EQ(pi_thinking_level("max"), "xhigh");
  for (const char* level : {"off", "low", "medium", "high", "xhigh"})
    EXPECT_EQ(pi_thinking_level(level), level);
  StartOptions o;
  o.thinking = "max";
  auto argv = launch_spec(o).argv;
  EXPECT_EQ(Argv(argv.end() - 2, argv.end()), (Argv{"--thinking", "xhigh"}));
}

TEST(PiLaunch, AgentAndProfileReplaceTheInheritedVariables) {
  StartOptions o;
  o.agent = "reviewer";
  o.agent_profile = "strict";
  auto spec = launch_spec(o);
  EXPECT_EQ(spec.env.at("PI_AGENT"), "reviewer");
  EXPECT_EQ(spec.env.at("PI_AGENT_PROFILE"), "strict");
  EXPECT_TRUE(spec.unset_env.empty()) << "a set variable replaces the inherited one";

  o.agent_profile.clear();
  spec = launch_spec(o);
  EXPECT_EQ(spec.env.count("PI_AGENT_PROFILE"), 0u);
  EXPECT_EQ(spec.unset_env, (Argv{"PI_AGENT_PROFILE"}));
}

TEST(PiLaunch, RelativeDirIsMadeAbsolute) {
  StartOptions o;
  o.dir = "sub/../proj";
  EXPECT_EQ(launch_spec(o).cwd, (std::filesystem::current_path() / "proj").string());
  o.dir.clear();
  EXPECT_EQ(launch_spec(o).cwd, std::filesystem::current_path().string());
}

}  // namespace
