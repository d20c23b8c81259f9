// Only a regular file may be replaced or removed by avenor: a FIFO,
// directory or link at one of its paths is someone else's and survives.
#include "util/replaceable_path.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "test_support.hpp"
#include "util/atomic_file.hpp"
#include "util/read_file.hpp"

namespace avenor::host {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

TEST(ReplaceablePath, RemovesRegularFilesAndAcceptsMissingOnes) {
  TempDir dir;
  test::write_file(dir / "f", "x");
  EXPECT_EQ(remove_regular_file(dir / "f"), std::nullopt);
  EXPECT_FALSE(fs::exists(dir / "f"));
  EXPECT_EQ(remove_regular_file(dir / "f"), std::nullopt);
}

TEST(ReplaceablePath, LeavesEverythingElseInPlace) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  fs::create_directory(dir / "dir");
  test::write_file(dir / "target", "precious");
  fs::create_symlink(dir / "target", dir / "link");
  for (const char* name : {"fifo", "dir", "link"}) {
    EXPECT_EQ(remove_regular_file(dir / name),
              "refusing to remove " + (dir / name).string() + ": not a regular file");
    EXPECT_EQ(replace_refusal(dir / name),
              "refusing to replace " + (dir / name).string() + ": not a regular file");
  }
  EXPECT_TRUE(fs::is_fifo(dir / "fifo"));
  EXPECT_TRUE(fs::is_directory(dir / "dir"));
  EXPECT_TRUE(fs::is_symlink(dir / "link"));
  EXPECT_EQ(test::read_file(dir / "target"), "precious");
  EXPECT_EQ(replace_refusal(dir / "target"), std::nullopt);
  EXPECT_EQ(replace_refusal(dir / "absent"), std::nullopt);
}

TEST(ReplaceablePath, AtomicWriteRefusesAFifoTarget) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  try {
    write_file_atomically(dir / "fifo", "data", ".t-", 0600);
    ADD_FAILURE() << "a FIFO was replaced";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), FileProblem::not_regular);
    EXPECT_EQ(std::string(e.what()),
              "refusing to replace " + (dir / "fifo").string() + ": not a regular file");
  }
  EXPECT_TRUE(fs::is_fifo(dir / "fifo"));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"fifo"}) << "the temp file is gone";
  write_file_atomically(dir / "new", "data", ".t-", 0600);
  write_file_atomically(dir / "new", "more", ".t-", 0600);
  EXPECT_EQ(test::read_file(dir / "new"), "more");
}

}  // namespace
}  // namespace avenor::host
