#include "cli/usage_reporter.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace avenor::host {
namespace {

struct Reporter {
  std::ostringstream out;
  std::ostringstream err;
  GoFlagSet flags{"x"};
  std::string prompt;
  bool auto_approve = false;
  Reporter() {
    flags.set_usage_header("Usage: avenor x [flags]\n");
    flags.string_var(prompt, "prompt", "", "inline prompt");
    flags.bool_var(auto_approve, "auto-approve", false, "approve");
  }
};

TEST(UsageReporter, HelpGoesToStdoutWithExit0) {
  Reporter r;
  const UsageReporter usage("answer", 2, r.out, r.err);
  EXPECT_EQ(usage.parse_failure(r.flags, r.flags.parse({"--help"})), 0);
  EXPECT_EQ(r.out.str().rfind("Usage: avenor x [flags]\n  -auto-approve", 0), 0u) << r.out.str();
  EXPECT_EQ(r.err.str(), "");
}

TEST(UsageReporter, ErrorsAreOneLinePlusAHint) {
  Reporter r;
  const UsageReporter usage("answer", 2, r.out, r.err);
  EXPECT_EQ(usage.parse_failure(r.flags, r.flags.parse({"--bogus"})), 2);
  EXPECT_EQ(r.err.str(),
            "avenor answer: flag provided but not defined: -bogus\n"
            "run 'avenor answer --help' for usage\n");
  EXPECT_EQ(r.out.str(), "");
}

TEST(UsageReporter, PrefixPerCommand) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(UsageReporter("run", 1, out, err).prefix(), "avenor: ");
  EXPECT_EQ(UsageReporter("control spawn", 1, out, err).prefix(), "avenor control: spawn: ");
  EXPECT_EQ(UsageReporter("control spawn", 1, out, err).hint(),
            "run 'avenor control spawn --help' for usage");
}

TEST(UsageReporter, UnexpectedArgumentNamesTheWord) {
  Reporter r;
  std::vector<std::string> args{"--prompt", "hi", "stray", "--prompt", "x"};
  ASSERT_TRUE(r.flags.parse(args).ok());
  EXPECT_EQ(unexpected_argument_message(r.flags, args),
            "unexpected argument \"stray\" (flags start with --; quote a prompt that has spaces)");
  args = {"--auto-approve", "yes", "--prompt", "x"};
  ASSERT_TRUE(r.flags.parse(args).ok());
  EXPECT_EQ(unexpected_argument_message(r.flags, args),
            "unexpected argument \"yes\" (--auto-approve takes no separate value; write "
            "--auto-approve=true or --auto-approve=false)");
  args = {"-auto-approve=false", "no"};
  ASSERT_TRUE(r.flags.parse(args).ok());
  EXPECT_EQ(unexpected_argument_message(r.flags, args),
            "unexpected argument \"no\" (flags start with --; quote a prompt that has spaces)");
  args = {"--", "--prompt"};
  ASSERT_TRUE(r.flags.parse(args).ok());
  EXPECT_EQ(
      unexpected_argument_message(r.flags, args),
      "unexpected argument \"--prompt\" (flags start with --; quote a prompt that has spaces)");
}

}  // namespace
}  // namespace avenor::host
