#include "commands/answer_command.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>

#include "test_support.hpp"

namespace avenor::host {
namespace {

constexpr const char* kRequest = R"({
  "request_id": "17",
  "options": [
    {"optionId": "allow", "kind": "allow"},
    {"optionId": "deny", "kind": "reject"}
  ]
})";

class AnswerCommandTest : public ::testing::Test {
 protected:
  AnswerCommandTest() { test::write_file(dir_ / "run.perm.req", kRequest); }

  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return answer_main(args, out_, err_);
  }
  std::string base() const { return (dir_ / "run.perm").string(); }
  std::filesystem::path response() const { return dir_ / "run.perm.req.response"; }
  bool printed_usage() const {
    return err_.str().find("Usage: avenor answer") != std::string::npos;
  }

  test::TempDir dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(AnswerCommandTest, WritesCompactResponse) {
  ASSERT_EQ(run({"--option", "allow", base()}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "");
  EXPECT_EQ(test::read_file(response()),
            "{\"outcome\":\"selected\",\"option_id\":\"allow\",\"message\":\"\"}\n");
  struct stat st {};
  ASSERT_EQ(::stat(response().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(dir_.entries(), (std::vector<std::string>{"run.perm.req", "run.perm.req.response"}));
}

TEST_F(AnswerCommandTest, MessageAndCancelledOutcome) {
  ASSERT_EQ(run({"-option=deny", "-message", "not \"now\"\nlater", "--outcome=cancelled", base()}),
            0)
      << err_.str();
  EXPECT_EQ(test::read_file(response()),
            "{\"outcome\":\"cancelled\",\"option_id\":\"deny\",\"message\":\"not "
            "\\\"now\\\"\\nlater\"}\n");
}

TEST_F(AnswerCommandTest, Check1FlagParse) {
  const std::string hint = "run 'avenor answer --help' for usage\n";
  EXPECT_EQ(run({"--bogus", "--option", "allow", base()}), 2);
  EXPECT_EQ(err_.str(), "avenor answer: flag provided but not defined: -bogus\n" + hint);
  EXPECT_FALSE(printed_usage()) << "one line and a hint, not the whole usage";
  EXPECT_EQ(run({"--force=maybe", "--option", "allow", base()}), 2);
  EXPECT_EQ(err_.str(),
            "avenor answer: invalid boolean value \"maybe\" for -force: parse error\n" + hint);
  EXPECT_EQ(run({"--option"}), 2);
  EXPECT_EQ(err_.str(), "avenor answer: flag needs an argument: -option\n" + hint);
  // After the perm base an unknown flag is a stray word, named as such.
  EXPECT_EQ(run({base(), "--option", "allow", "--opton"}), 2);
  EXPECT_EQ(
      err_.str(),
      "avenor answer: unexpected argument \"--opton\" (answer takes one <perm-base>)\n" + hint);
  EXPECT_FALSE(std::filesystem::exists(response()));
}

TEST_F(AnswerCommandTest, HelpOnStdoutExit0) {
  for (const char* flag : {"-h", "--help", "-help"}) {
    EXPECT_EQ(run({flag}), 0) << flag;
    EXPECT_EQ(out_.str().rfind("Usage: avenor answer <perm-base> --option <id>", 0), 0u)
        << out_.str();
    EXPECT_EQ(err_.str(), "");
  }
}

TEST_F(AnswerCommandTest, Check2OutcomeBeforeOptionAndPositional) {
  EXPECT_EQ(run({"--outcome", "maybe"}), 2);
  EXPECT_EQ(err_.str(),
            "avenor answer: --outcome must be \"selected\" or \"cancelled\", got \"maybe\"\n"
            "run 'avenor answer --help' for usage\n");
}

TEST_F(AnswerCommandTest, Check3OptionRequired) {
  EXPECT_EQ(run({base()}), 2);
  EXPECT_EQ(err_.str().rfind("avenor answer: --option <id> is required\n", 0), 0u) << err_.str();
  EXPECT_EQ(run({"--option", "", base()}), 2);
  EXPECT_EQ(err_.str().rfind("avenor answer: --option <id> is required\n", 0), 0u) << err_.str();
}

TEST_F(AnswerCommandTest, Check4ExactlyOnePositional) {
  EXPECT_EQ(run({"--option", "allow"}), 2);
  EXPECT_EQ(err_.str().rfind("avenor answer: <perm-base> is required", 0), 0u) << err_.str();
  EXPECT_EQ(run({"--option", "allow", base(), "extra"}), 2);
  EXPECT_EQ(err_.str().rfind("avenor answer: unexpected argument \"extra\"", 0), 0u) << err_.str();
  EXPECT_FALSE(std::filesystem::exists(response()));
}

TEST_F(AnswerCommandTest, FlagsMayFollowThePermBase) {
  // D13: the documented form `avenor answer <base> --option <id>`.
  ASSERT_EQ(run({base(), "--option", "deny", "--message=m"}), 0) << err_.str();
  EXPECT_EQ(test::read_file(response()),
            "{\"outcome\":\"selected\",\"option_id\":\"deny\",\"message\":\"m\"}\n");
  ASSERT_EQ(run({"--option", "allow", "--force", "--", base()}), 0) << err_.str();
}

TEST_F(AnswerCommandTest, Check5RequestFileMissingOrUnreadable) {
  const std::string missing = (dir_ / "nope").string();
  EXPECT_EQ(run({"--option", "allow", missing}), 2);
  EXPECT_EQ(err_.str(), "avenor answer: request file " + missing + ".req does not exist\n");

  std::filesystem::create_directory(dir_ / "dir.perm.req");
  EXPECT_EQ(run({"--option", "allow", (dir_ / "dir.perm").string()}), 1);
  EXPECT_EQ(err_.str(), "avenor answer: read request file " + (dir_ / "dir.perm.req").string() +
                            ": not a regular file\n");
}

TEST_F(AnswerCommandTest, Check5AFifoOrDeviceRequestNeitherHangsNorFloods) {
  ASSERT_EQ(::mkfifo((dir_ / "fifo.perm.req").c_str(), 0600), 0);  // no writer
  EXPECT_EQ(run({"--option", "allow", (dir_ / "fifo.perm").string()}), 1);
  EXPECT_EQ(err_.str(), "avenor answer: read request file " + (dir_ / "fifo.perm.req").string() +
                            ": not a regular file\n");
  std::filesystem::create_symlink("/dev/zero", dir_ / "zero.perm.req");
  EXPECT_EQ(run({"--option", "allow", (dir_ / "zero.perm").string()}), 1);
  EXPECT_EQ(err_.str(), "avenor answer: read request file " + (dir_ / "zero.perm.req").string() +
                            ": not a regular file\n");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "zero.perm.req.response"));
}

TEST_F(AnswerCommandTest, Check6RequestMustBeJson) {
  test::write_file(dir_ / "run.perm.req", "{broken");
  EXPECT_EQ(run({"--option", "allow", base()}), 2);
  EXPECT_EQ(err_.str().rfind("avenor answer: parse request file ", 0), 0u) << err_.str();
}

TEST_F(AnswerCommandTest, Check7OptionMustBeOffered) {
  EXPECT_EQ(run({"--option", "maybe", base()}), 2);
  EXPECT_EQ(err_.str(),
            "avenor answer: option \"maybe\" is not in the offered set; valid options: allow, "
            "deny\n");
  EXPECT_FALSE(std::filesystem::exists(response()));
}

TEST_F(AnswerCommandTest, Check8NoClobberWithoutForce) {
  test::write_file(response(), "existing\n");
  EXPECT_EQ(run({"--option", "allow", base()}), 2);
  EXPECT_EQ(err_.str(), "avenor answer: response already exists at " + response().string() +
                            "; pass --force to overwrite\n");
  EXPECT_EQ(test::read_file(response()), "existing\n");
  EXPECT_EQ(dir_.entries(), (std::vector<std::string>{"run.perm.req", "run.perm.req.response"}));
}

TEST_F(AnswerCommandTest, ForceOverwrites) {
  test::write_file(response(), "existing\n");
  EXPECT_EQ(run({"--force", "--option", "deny", base()}), 0) << err_.str();
  EXPECT_EQ(test::read_file(response()),
            "{\"outcome\":\"selected\",\"option_id\":\"deny\",\"message\":\"\"}\n");
  EXPECT_EQ(run({"--force=false", "--option", "allow", base()}), 2);
  EXPECT_EQ(dir_.entries(), (std::vector<std::string>{"run.perm.req", "run.perm.req.response"}));
}

TEST_F(AnswerCommandTest, Check9WriteFailureWithForce) {
  // --force replaces an answer, never a directory (or FIFO, or link).
  std::filesystem::create_directories(response() / "child");
  EXPECT_EQ(run({"--force", "--option", "allow", base()}), 1);
  EXPECT_EQ(err_.str(), "avenor answer: write response: refusing to replace " +
                            response().string() + ": not a regular file\n");
  EXPECT_EQ(dir_.entries(), (std::vector<std::string>{"run.perm.req", "run.perm.req.response"}));
}

TEST_F(AnswerCommandTest, Check9WriteFailure) {
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0500), 0);
  if (::access(dir_.path().c_str(), W_OK) == 0) GTEST_SKIP() << "running as root";
  EXPECT_EQ(run({"--option", "allow", base()}), 1);
  EXPECT_EQ(err_.str().rfind("avenor answer: write response: ", 0), 0u) << err_.str();
}

TEST_F(AnswerCommandTest, SecondWriterLosesTheRace) {
  ASSERT_EQ(run({"--option", "allow", base()}), 0);
  EXPECT_EQ(run({"--option", "deny", base()}), 2);
  EXPECT_EQ(test::read_file(response()),
            "{\"outcome\":\"selected\",\"option_id\":\"allow\",\"message\":\"\"}\n");
}

}  // namespace
}  // namespace avenor::host
