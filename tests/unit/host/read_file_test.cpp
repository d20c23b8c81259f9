// read_regular_file / open_regular_file: the one reader for files named from
// outside. It must never block on a FIFO, never read a device, and stop at
// its cap with errors a caller can word in its own terms.
#include "util/read_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <string>

#include "test_support.hpp"

namespace avenor::host {
namespace {

using test::TempDir;

// Runs `read` and returns the FileReadError it throws (fails when none).
template <typename F>
FileReadError error_of(F&& read) {
  try {
    read();
  } catch (const FileReadError& e) {
    return e;
  }
  ADD_FAILURE() << "no FileReadError";
  return FileReadError(std::error_code(), "");
}

TEST(ReadRegularFile, ReadsAWholeRegularFile) {
  TempDir dir;
  test::write_file(dir / "f", std::string("a\0b\n", 4));
  EXPECT_EQ(read_regular_file(dir / "f", 4), std::string("a\0b\n", 4));
  test::write_file(dir / "empty", "");
  EXPECT_EQ(read_regular_file(dir / "empty", 0), "");
}

TEST(ReadRegularFile, MissingFileKeepsItsErrno) {
  TempDir dir;
  const FileReadError e = error_of([&] { read_regular_file(dir / "nope", 10); });
  EXPECT_TRUE(e.missing());
  EXPECT_EQ(std::string(e.what()),
            "open " + (dir / "nope").string() + ": No such file or directory");
}

TEST(ReadRegularFile, AFifoIsRefusedWithoutBlocking) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  const auto started = std::chrono::steady_clock::now();
  const FileReadError e = error_of([&] { read_regular_file(dir / "fifo", 10); });
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(e.code(), FileProblem::not_regular);
  EXPECT_EQ(std::string(e.what()), (dir / "fifo").string() + " is not a regular file");
}

TEST(ReadRegularFile, DevicesAndDirectoriesAreRefused) {
  TempDir dir;
  EXPECT_EQ(error_of([] { read_regular_file("/dev/zero", 10); }).code(), FileProblem::not_regular);
  EXPECT_EQ(error_of([&] { read_regular_file(dir.path(), 10); }).code(), FileProblem::not_regular);
  // A link to a device is judged by what it points to.
  std::filesystem::create_symlink("/dev/zero", dir / "zero");
  EXPECT_EQ(error_of([&] { read_regular_file(dir / "zero", 10); }).code(),
            FileProblem::not_regular);
}

TEST(ReadRegularFile, TheCapIsExact) {
  TempDir dir;
  test::write_file(dir / "f", std::string(100, 'x'));
  EXPECT_EQ(read_regular_file(dir / "f", 100).size(), 100u);
  const FileReadError e = error_of([&] { read_regular_file(dir / "f", 99); });
  EXPECT_EQ(e.code(), FileProblem::too_large);
  EXPECT_EQ(std::string(e.what()), (dir / "f").string() + " is larger than 99 bytes");
}

TEST(ReadRegularFile, SymlinksFollowedOrRefused) {
  TempDir dir;
  test::write_file(dir / "target", "data");
  std::filesystem::create_symlink(dir / "target", dir / "link");
  EXPECT_EQ(read_regular_file(dir / "link", 10), "data");
  EXPECT_EQ(read_regular_file(dir / "link", 10, Symlinks::follow), "data");
  const FileReadError e = error_of([&] { read_regular_file(dir / "link", 10, Symlinks::refuse); });
  EXPECT_EQ(e.code(), FileProblem::not_regular);
  EXPECT_EQ(read_regular_file(dir / "target", 10, Symlinks::refuse), "data");
}

}  // namespace
}  // namespace avenor::host
