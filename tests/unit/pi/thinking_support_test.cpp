#include "pi/thinking_support.hpp"

#include <gtest/gtest.h>

#include "pi/launch.hpp"

namespace {

using namespace avenor::pi;
using avenor::sdk::Outcome;
using avenor::sdk::ProcessResult;

Outcome<ProcessResult> ran(std::string out, std::string err, int code = 0) {
  Outcome<ProcessResult> o;
  o.value = ProcessResult{};
  o.value->exit_code = code;
  o.value->out = std::move(out);
  o.value->err = std::move(err);
  return o;
}

TEST(PiThinkingSupport, HelpRunsWherePiRuns) {
  avenor::sdk::StartOptions options;
  options.dir = "/work/proj";
  options.agent = "reviewer";
  options.thinking = "high";
  auto r = help_request(launch_spec(options));
  EXPECT_EQ(r.argv, (std::vector<std::string>{"pi", "--help"}));
  EXPECT_EQ(r.cwd, "/work/proj");
  EXPECT_EQ(r.env.at("PI_AGENT"), "reviewer");
  EXPECT_EQ(r.unset_env, (std::vector<std::string>{"PI_AGENT_PROFILE"}));
}

TEST(PiThinkingSupport, TheFlagMayBeOnEitherStream) {
  // pi 0.73.1 prints its help on stderr.
  EXPECT_FALSE(thinking_support_error(ran("", "  --thinking <level>   Set thinking level")));
  EXPECT_FALSE(thinking_support_error(ran("  --thinking <level>", "")));
}

TEST(PiThinkingSupport, MissingFlagIsTheUnsupportedThinkingError) {
  EXPECT_EQ(thinking_support_error(ran("usage: pi [options]", "")),
            "backend \"pi\" does not support parameter \"thinking\"");
  EXPECT_EQ(thinking_support_error(ran("", "--thinking")),  // no <level>: not this flag
            "backend \"pi\" does not support parameter \"thinking\"");
}

TEST(PiThinkingSupport, AHelpThatDidNotRunFailsTheStart) {
  Outcome<ProcessResult> failed;
  failed.error = "start pi: No such file or directory";
  EXPECT_EQ(thinking_support_error(failed), "pi --help: start pi: No such file or directory");
  auto timed_out = ran("", "");
  timed_out.value->timed_out = true;
  EXPECT_EQ(thinking_support_error(timed_out), "pi --help: timed out");
}

}  // namespace
