#include "cli/go_flags.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace avenor::host {
namespace {

using namespace std::chrono_literals;
using Status = GoFlagSet::ParseResult::Status;

struct Fixture {
  GoFlagSet flags{"test"};
  std::string prompt;
  bool force = false;
  bool verbose = true;
  int retries = 0;
  std::int64_t big = 0;
  std::chrono::nanoseconds timeout{};
  Fixture() {
    flags.string_var(prompt, "prompt", "", "inline prompt");
    flags.bool_var(force, "force", false, "overwrite");
    flags.bool_var(verbose, "v", true, "verbose");
    flags.int_var(retries, "max-retries", 0, "extra attempts");
    flags.int64_var(big, "big", 7, "a `count`");
    flags.duration_var(timeout, "timeout", 0ns, "overall limit");
  }
};

TEST(GoFlags, OneOrTwoDashesSpaceOrEquals) {
  Fixture f;
  auto r = f.flags.parse({"-prompt", "hi", "--max-retries=3", "--timeout", "1h30m", "-force"});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(f.prompt, "hi");
  EXPECT_EQ(f.retries, 3);
  EXPECT_EQ(f.timeout, 90min);
  EXPECT_TRUE(f.force);
  EXPECT_TRUE(f.flags.args().empty());
  EXPECT_TRUE(f.flags.was_set("prompt"));
  EXPECT_FALSE(f.flags.was_set("big"));
  EXPECT_EQ(f.big, 7);  // default applied at definition
}

TEST(GoFlags, StringValueMayLookLikeAFlag) {
  Fixture f;
  ASSERT_TRUE(f.flags.parse({"--prompt", "--force"}).ok());
  EXPECT_EQ(f.prompt, "--force");
  EXPECT_FALSE(f.force);
  ASSERT_TRUE(f.flags.parse({"--prompt="}).ok());
  EXPECT_EQ(f.prompt, "");
  ASSERT_TRUE(f.flags.parse({"--prompt=a=b"}).ok());
  EXPECT_EQ(f.prompt, "a=b");
}

TEST(GoFlags, BoolTakesValueOnlyWithEquals) {
  Fixture f;
  ASSERT_TRUE(f.flags.parse({"--force", "false"}).ok());
  EXPECT_TRUE(f.force);
  EXPECT_EQ(f.flags.args(), std::vector<std::string>{"false"});
  ASSERT_TRUE(f.flags.parse({"--force=false", "-v=0"}).ok());
  EXPECT_FALSE(f.force);
  EXPECT_FALSE(f.verbose);
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    ASSERT_TRUE(f.flags.parse({std::string("-force=") + t}).ok()) << t;
    EXPECT_TRUE(f.force) << t;
  }
  auto r = f.flags.parse({"--force=yes"});
  EXPECT_EQ(r.status, Status::error);
  EXPECT_EQ(r.error, "invalid boolean value \"yes\" for -force: parse error");
  EXPECT_EQ(f.flags.parse({"--force="}).error,
            "invalid boolean value \"\" for -force: parse error");
}

TEST(GoFlags, StopsAtFirstPositional) {
  Fixture f;
  ASSERT_TRUE(f.flags.parse({"--force", "base", "--prompt", "x"}).ok());
  EXPECT_EQ(f.flags.args(), (std::vector<std::string>{"base", "--prompt", "x"}));
  EXPECT_EQ(f.prompt, "");
  ASSERT_TRUE(f.flags.parse({"--", "--force"}).ok());
  EXPECT_EQ(f.flags.args(), std::vector<std::string>{"--force"});
  ASSERT_TRUE(f.flags.parse({"-", "--force"}).ok());
  EXPECT_EQ(f.flags.args(), (std::vector<std::string>{"-", "--force"}));
  ASSERT_TRUE(f.flags.parse({}).ok());
  EXPECT_TRUE(f.flags.args().empty());
}

TEST(GoFlags, Errors) {
  Fixture f;
  EXPECT_EQ(f.flags.parse({"--nope"}).error, "flag provided but not defined: -nope");
  EXPECT_EQ(f.flags.parse({"--nope=1"}).error, "flag provided but not defined: -nope");
  EXPECT_EQ(f.flags.parse({"--prompt"}).error, "flag needs an argument: -prompt");
  EXPECT_EQ(f.flags.parse({"--timeout", "x"}).error,
            "invalid value \"x\" for flag -timeout: parse error (use e.g. 5s, 10m, 1h30m)");
  EXPECT_EQ(f.flags.parse({"--max-retries", "x"}).error,
            "invalid value \"x\" for flag -max-retries: parse error");
  EXPECT_EQ(f.flags.parse({"--max-retries", "99999999999"}).error,
            "invalid value \"99999999999\" for flag -max-retries: value out of range");
  EXPECT_EQ(f.flags.parse({"---x"}).error, "bad flag syntax: ---x");
  EXPECT_EQ(f.flags.parse({"-=x"}).error, "bad flag syntax: -=x");
  auto help = f.flags.parse({"-h"});
  EXPECT_EQ(help.status, Status::help);
  EXPECT_EQ(f.flags.parse({"--help"}).status, Status::help);
}

TEST(GoFlags, IntSyntaxLikeStrconv) {
  const std::vector<std::pair<std::string, std::int64_t>> good = {
      {"0", 0},
      {"-12", -12},
      {"+5", 5},
      {"0x1F", 31},
      {"0o17", 15},
      {"017", 15},
      {"0b101", 5},
      {"1_000", 1000},
      {"0x_1f", 31},
      {"-0", 0},
      {"9223372036854775807", INT64_MAX},
      {"-9223372036854775808", INT64_MIN}};
  for (const auto& [text, want] : good) {
    GoIntParse p = parse_go_int(text);
    EXPECT_FALSE(p.error.has_value()) << text << ": " << p.error.value_or("");
    EXPECT_EQ(p.value, want) << text;
  }
  for (const char* bad : {"", "-", "1.5", "0x", "08", "1__0", "_1", "1_", "abc", " 1", "0b2"})
    EXPECT_EQ(parse_go_int(bad).error, std::optional<std::string>("parse error")) << bad;
  for (const char* big : {"9223372036854775808", "-9223372036854775809", "99999999999999999999x"})
    EXPECT_EQ(parse_go_int(big).error, std::optional<std::string>("value out of range")) << big;
}

TEST(GoFlags, FuncVar) {
  GoFlagSet flags("run");
  std::string handler;
  flags.func_var(
      "permission-handler", "`spec` of the handler",
      [&](std::string_view v) -> std::optional<std::string> {
        if (v.rfind("file:", 0) != 0) return "must start with file:";
        handler = std::string(v);
        return std::nullopt;
      },
      false, "value", "");
  EXPECT_EQ(flags.parse({"--permission-handler", "x"}).error,
            "invalid value \"x\" for flag -permission-handler: must start with file:");
  ASSERT_TRUE(flags.parse({"--permission-handler=file:/tmp/p"}).ok());
  EXPECT_EQ(handler, "file:/tmp/p");
}

TEST(GoFlags, UsageLikePrintDefaults) {
  Fixture f;
  std::string outcome;
  f.flags.string_var(outcome, "outcome", "selected", "selected or cancelled");
  std::chrono::nanoseconds wait{};
  f.flags.duration_var(wait, "wait", 30s, "how long\nto wait");
  EXPECT_EQ(f.flags.usage(),
            "Usage of test:\n"
            "  -big count\n"
            "    \ta count (default 7)\n"
            "  -force\n"
            "    \toverwrite\n"
            "  -max-retries int\n"
            "    \textra attempts\n"
            "  -outcome string\n"
            "    \tselected or cancelled (default \"selected\")\n"
            "  -prompt string\n"
            "    \tinline prompt\n"
            "  -timeout duration\n"
            "    \toverall limit\n"
            "  -v\tverbose (default true)\n"
            "  -wait duration\n"
            "    \thow long\n"
            "    \tto wait (default 30s)\n");
  f.flags.set_usage_header("Usage: avenor test [flags]\n");
  std::ostringstream out;
  f.flags.print_error_and_usage(f.flags.parse({"--zzz"}), out);
  EXPECT_EQ(
      out.str().rfind("flag provided but not defined: -zzz\nUsage: avenor test [flags]\n  -big", 0),
      0u)
      << out.str();
  std::ostringstream help;
  f.flags.print_error_and_usage(f.flags.parse({"-help"}), help);
  EXPECT_EQ(help.str().rfind("Usage: avenor test [flags]\n", 0), 0u);
}

TEST(GoFlags, InterspersedTakesFlagsAfterPositionals) {
  Fixture f;
  f.flags.set_interspersed(true);
  ASSERT_TRUE(f.flags.parse({"base", "--prompt", "x", "-force", "more"}).ok());
  EXPECT_EQ(f.flags.args(), (std::vector<std::string>{"base", "more"}));
  EXPECT_EQ(f.prompt, "x");
  EXPECT_TRUE(f.force);
  // The flag-first order reads as before.
  ASSERT_TRUE(f.flags.parse({"--max-retries=2", "base"}).ok());
  EXPECT_EQ(f.retries, 2);
  EXPECT_EQ(f.flags.args(), std::vector<std::string>{"base"});
  // A value may look like a flag; a bool flag never takes the next word.
  ASSERT_TRUE(f.flags.parse({"base", "--prompt", "--force", "--force", "false"}).ok());
  EXPECT_EQ(f.prompt, "--force");
  EXPECT_EQ(f.flags.args(), (std::vector<std::string>{"base", "false"}));
}

TEST(GoFlags, InterspersedDoubleDashEndsTheFlags) {
  Fixture f;
  f.flags.set_interspersed(true);
  ASSERT_TRUE(f.flags.parse({"prompt", "--", "--force", "-x", "--", "rt"}).ok());
  EXPECT_EQ(f.flags.args(), (std::vector<std::string>{"prompt", "--force", "-x", "--", "rt"}));
  EXPECT_FALSE(f.force);
  ASSERT_TRUE(f.flags.parse({"--", "--prompt", "p"}).ok());
  EXPECT_EQ(f.flags.args(), (std::vector<std::string>{"--prompt", "p"}));
  EXPECT_EQ(f.prompt, "");
}

TEST(GoFlags, InterspersedTakesOnlyDefinedFlagsAfterAPositional) {
  Fixture f;
  f.flags.set_interspersed(true);
  // After a positional only defined flags (and help) are flags; every other
  // word stays positional, as Go would have read it.
  ASSERT_TRUE(f.flags
                  .parse({"prompt", "--not-a-flag", "- fix it", "-5", "--two words", "-", "---x",
                          "-=y", "--prompt=p", "--opton", "x"})
                  .ok());
  EXPECT_EQ(f.flags.args(),
            (std::vector<std::string>{"prompt", "--not-a-flag", "- fix it", "-5", "--two words",
                                      "-", "---x", "-=y", "--opton", "x"}));
  EXPECT_EQ(f.prompt, "p");
  EXPECT_EQ(f.flags.parse({"base", "--help"}).status, Status::help);
  EXPECT_EQ(f.flags.parse({"base", "-h"}).status, Status::help);
  EXPECT_EQ(f.flags.parse({"base", "--timeout", "5"}).status, Status::error);
  // Before the first positional Go's rules still apply.
  EXPECT_EQ(f.flags.parse({"---x", "base"}).error, "bad flag syntax: ---x");
  EXPECT_EQ(f.flags.parse({"--opton", "base"}).error, "flag provided but not defined: -opton");
}

TEST(GoFlags, NotInterspersedStopsAtFirstPositionalAsGo) {
  Fixture f;
  ASSERT_TRUE(f.flags.parse({"base", "--prompt", "x"}).ok());
  EXPECT_EQ(f.flags.args(), (std::vector<std::string>{"base", "--prompt", "x"}));
  EXPECT_EQ(f.prompt, "");
}

TEST(GoFlags, IsBoolFlag) {
  Fixture f;
  EXPECT_TRUE(f.flags.is_bool_flag("force"));
  EXPECT_FALSE(f.flags.is_bool_flag("prompt"));
  EXPECT_FALSE(f.flags.is_bool_flag("nope"));
}

TEST(GoFlags, DurationErrorsSayWhatIsWrong) {
  Fixture f;
  EXPECT_EQ(f.flags.parse({"--timeout", "5"}).error,
            "invalid value \"5\" for flag -timeout: missing unit in duration (use e.g. 5s, 10m, "
            "1h30m)");
  EXPECT_EQ(f.flags.parse({"--timeout=1.5"}).error,
            "invalid value \"1.5\" for flag -timeout: missing unit in duration (use e.g. 5s, 10m, "
            "1h30m)");
  EXPECT_EQ(f.flags.parse({"--timeout", "fast"}).error,
            "invalid value \"fast\" for flag -timeout: parse error (use e.g. 5s, 10m, 1h30m)");
  EXPECT_EQ(duration_error_reason("-3"), "missing unit in duration (use e.g. 5s, 10m, 1h30m)");
  EXPECT_EQ(duration_error_reason(""), "parse error (use e.g. 5s, 10m, 1h30m)");
  EXPECT_EQ(duration_error_reason("."), "parse error (use e.g. 5s, 10m, 1h30m)");
  ASSERT_TRUE(f.flags.parse({"--timeout", "0"}).ok());
}

TEST(GoFlags, DefinitionErrors) {
  GoFlagSet flags("x");
  std::string s;
  flags.string_var(s, "a", "", "");
  EXPECT_THROW(flags.string_var(s, "a", "", ""), std::logic_error);
  EXPECT_THROW(flags.string_var(s, "-b", "", ""), std::logic_error);
  EXPECT_THROW(flags.string_var(s, "c=d", "", ""), std::logic_error);
}

}  // namespace
}  // namespace avenor::host
