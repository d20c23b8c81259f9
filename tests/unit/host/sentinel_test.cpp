#include "run/sentinel.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>

#include "test_support.hpp"

namespace avenor::host {
namespace {

using test::TempDir;

std::string fmt(int code, std::string session, std::string sr, std::string run,
                std::string label = "") {
  return format_sentinel(
      SentinelInfo{code, std::move(session), std::move(sr), std::move(run), std::move(label)});
}

TEST(Sentinel, EveryExitRow) {
  EXPECT_EQ(fmt(0, "ses_1", "", "r1"), "DONE\nSESSION=ses_1\nSTOP_REASON=end_turn\nRUN=r1\n");
  EXPECT_EQ(fmt(124, "ses_42", "", "a1b2c3d4e5f60718"),
            "TIMEOUT\nSESSION=ses_42\nSTOP_REASON=timeout\nRUN=a1b2c3d4e5f60718\n");
  EXPECT_EQ(fmt(124, "s", "progress_timeout", "r"),
            "TIMEOUT\nSESSION=s\nSTOP_REASON=progress_timeout\nRUN=r\n");
  EXPECT_EQ(fmt(130, "s", "", "r"),
            "KILLED\nSESSION=s\nSTOP_REASON=cancelled\nEXIT_CODE=130\nRUN=r\n");
  EXPECT_EQ(fmt(5, "s", "", "r", "needs review"),
            "BLOCKED\nSESSION=s\nSTOP_REASON=blocked\nREASON=needs review\nRUN=r\n");
  EXPECT_EQ(fmt(5, "s", "", "r"), "BLOCKED\nSESSION=s\nSTOP_REASON=blocked\nRUN=r\n");
  EXPECT_EQ(fmt(1, "s", "", "r"), "FAILED\nSESSION=s\nSTOP_REASON=exit_1\nEXIT_CODE=1\nRUN=r\n");
  EXPECT_EQ(fmt(2, "s", "refusal", "r"),
            "FAILED\nSESSION=s\nSTOP_REASON=refusal\nEXIT_CODE=2\nRUN=r\n");
  EXPECT_EQ(fmt(3, "s", "", "r"), "FAILED\nSESSION=s\nSTOP_REASON=exit_3\nEXIT_CODE=3\nRUN=r\n");
  EXPECT_EQ(fmt(1, "", "error", "r"), "FAILED\nSESSION=\nSTOP_REASON=error\nEXIT_CODE=1\nRUN=r\n");
}

TEST(Sentinel, RunLineOmittedOnlyWhenRunIdEmpty) {
  EXPECT_EQ(fmt(0, "", "", ""), "DONE\nSESSION=\nSTOP_REASON=end_turn\n");
  EXPECT_EQ(fmt(130, "", "", ""), "KILLED\nSESSION=\nSTOP_REASON=cancelled\nEXIT_CODE=130\n");
}

TEST(Sentinel, LabelOnlyForBlocked) {
  EXPECT_EQ(fmt(0, "s", "", "r", "label"), "DONE\nSESSION=s\nSTOP_REASON=end_turn\nRUN=r\n");
  EXPECT_EQ(fmt(1, "s", "", "r", "label"),
            "FAILED\nSESSION=s\nSTOP_REASON=exit_1\nEXIT_CODE=1\nRUN=r\n");
}

TEST(Sentinel, NoLineInjection) {
  EXPECT_EQ(fmt(0, "s", "", "run-1\nFAILED\rEXIT_CODE=1"),
            "DONE\nSESSION=s\nSTOP_REASON=end_turn\nRUN=run-1 FAILED EXIT_CODE=1\n");
  EXPECT_EQ(fmt(5, "s", "", "r", "a\r\nb"),
            "BLOCKED\nSESSION=s\nSTOP_REASON=blocked\nREASON=a  b\nRUN=r\n");
}

TEST(Sentinel, StopReasonMaps) {
  const std::vector<std::pair<int, std::string>> rows = {
      {0, "end_turn"}, {2, "refusal"},   {3, "max_tokens"}, {4, "max_turn_requests"},
      {5, "blocked"},  {124, "timeout"}, {130, "cancelled"}};
  for (const auto& [code, reason] : rows) {
    EXPECT_EQ(stop_reason_for_exit(code), reason);
    EXPECT_EQ(exit_code_for_stop_reason(reason), code);
  }
  EXPECT_EQ(stop_reason_for_exit(1), "");
  EXPECT_EQ(stop_reason_for_exit(7), "");
  EXPECT_EQ(exit_code_for_stop_reason("progress_timeout"), 124);
  for (const char* other : {"", "stop_sequence", "tool_use", "error", "degenerate_reasoning_stream",
                            "session_id_conflict", "END_TURN"})
    EXPECT_EQ(exit_code_for_stop_reason(other), 1) << other;
}

TEST(Sentinel, WritesAtomicallyWithoutLeftovers) {
  TempDir dir;
  const auto path = dir / "run.done";
  std::ostringstream err;
  ASSERT_TRUE(write_sentinel(path, SentinelInfo{0, "ses", "", "r", ""}, err));
  EXPECT_EQ(err.str(), "");
  EXPECT_EQ(test::read_file(path), "DONE\nSESSION=ses\nSTOP_REASON=end_turn\nRUN=r\n");
  ASSERT_TRUE(write_sentinel(path, SentinelInfo{124, "ses", "", "r", ""}, err));
  EXPECT_EQ(test::read_file(path), "TIMEOUT\nSESSION=ses\nSTOP_REASON=timeout\nRUN=r\n");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"run.done"});
}

TEST(Sentinel, WriteFailureIsReportedAndLeavesNoFile) {
  TempDir dir;
  std::ostringstream err;
  EXPECT_FALSE(write_sentinel(dir / "missing" / "run.done", SentinelInfo{}, err));
  EXPECT_EQ(err.str().rfind("avenor: write sentinel: ", 0), 0u) << err.str();
  EXPECT_NE(err.str().find("No such file or directory"), std::string::npos) << err.str();

  // A directory is refused (after the temp file was written, which goes).
  std::filesystem::create_directories(dir / "occupied" / "child");
  std::ostringstream err2;
  EXPECT_FALSE(write_sentinel(dir / "occupied", SentinelInfo{}, err2));
  EXPECT_EQ(err2.str(), "avenor: write sentinel: refusing to replace " +
                            (dir / "occupied").string() + ": not a regular file\n");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"occupied"}));
}

TEST(Sentinel, DerivedPermissionBase) {
  EXPECT_EQ(derive_permission_base("run.done"), "run.perm");
  EXPECT_EQ(derive_permission_base("x"), "x.perm");
  EXPECT_EQ(derive_permission_base("a.done.done"), "a.done.perm");
  EXPECT_EQ(derive_permission_base("/tmp/dir/job.done"), "/tmp/dir/job.perm");
  EXPECT_EQ(derive_permission_base("/tmp/done"), "/tmp/done.perm");
  EXPECT_EQ(derive_permission_base("run.DONE"), "run.DONE.perm");
}

TEST(Sentinel, CleanupRemovesRunFilesAndIgnoresMissing) {
  TempDir dir;
  const auto sentinel = dir / "run.done";
  const auto base = dir / "run.perm";
  test::write_file(sentinel, "DONE\n");
  test::write_file(dir / "run.perm.req", "{}");
  test::write_file(dir / "run.perm.req.response", "{}");
  test::write_file(dir / "other", "x");
  std::ostringstream err;
  cleanup_run_files(sentinel, base, err);
  EXPECT_EQ(err.str(), "");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"other"});
  cleanup_run_files(sentinel, base, err);  // all missing now
  EXPECT_EQ(err.str(), "");
}

TEST(Sentinel, CleanupRefusesWhatIsNotARegularFileAndContinues) {
  TempDir dir;
  std::filesystem::create_directories(dir / "run.done");
  ASSERT_EQ(::mkfifo((dir / "run.perm.req").c_str(), 0600), 0);
  std::filesystem::create_symlink(dir / "target", dir / "run.perm.req.response");
  test::write_file(dir / "target", "precious");
  std::ostringstream err;
  cleanup_run_files(dir / "run.done", dir / "run.perm", err);
  EXPECT_EQ(err.str(), "avenor: cleanup: refusing to remove " + (dir / "run.done").string() +
                           ": not a regular file\n"
                           "avenor: cleanup: refusing to remove " +
                           (dir / "run.perm.req").string() +
                           ": not a regular file\n"
                           "avenor: cleanup: refusing to remove " +
                           (dir / "run.perm.req.response").string() + ": not a regular file\n");
  EXPECT_TRUE(std::filesystem::is_directory(dir / "run.done"));
  EXPECT_TRUE(std::filesystem::is_fifo(dir / "run.perm.req"));
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "run.perm.req.response"));
  EXPECT_EQ(test::read_file(dir / "target"), "precious");
}

TEST(Sentinel, NeverReplacesAFifoOrALink) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo.done").c_str(), 0600), 0);
  std::filesystem::create_symlink(dir / "target", dir / "link.done");
  test::write_file(dir / "target", "precious");
  std::ostringstream err;
  EXPECT_FALSE(write_sentinel(dir / "fifo.done", SentinelInfo{}, err));
  EXPECT_FALSE(write_sentinel(dir / "link.done", SentinelInfo{}, err));
  EXPECT_EQ(err.str(), "avenor: write sentinel: refusing to replace " +
                           (dir / "fifo.done").string() +
                           ": not a regular file\n"
                           "avenor: write sentinel: refusing to replace " +
                           (dir / "link.done").string() + ": not a regular file\n");
  EXPECT_TRUE(std::filesystem::is_fifo(dir / "fifo.done"));
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "link.done"));
  EXPECT_EQ(test::read_file(dir / "target"), "precious");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"fifo.done", "link.done", "target"}))
      << "no temp file is left behind";
}

TEST(Sentinel, PathProblemNamesTheFlag) {
  TempDir dir;
  EXPECT_EQ(sentinel_path_problem(""), std::nullopt);
  EXPECT_EQ(sentinel_path_problem(dir / "absent.done"), std::nullopt);
  test::write_file(dir / "old.done", "DONE\n");
  EXPECT_EQ(sentinel_path_problem(dir / "old.done"), std::nullopt);
  EXPECT_EQ(sentinel_path_problem(dir.path()),
            "--sentinel-file: refusing to replace " + dir.path().string() + ": not a regular file");
}

}  // namespace
}  // namespace avenor::host
