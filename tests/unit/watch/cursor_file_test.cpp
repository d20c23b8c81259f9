// The --since-cursor file (events.md §8.7).
#include "watch/cursor_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "../host/test_support.hpp"

namespace avenor::host::watch {
namespace {

TEST(WatchCursor, MissingFileMeansZero) {
  test::TempDir dir;
  const CursorRead read = read_cursor(dir / "none");
  EXPECT_TRUE(read.ok()) << read.error;
  EXPECT_EQ(read.offset, 0);
}

TEST(WatchCursor, ParsesDecimalWithTrailingNewlines) {
  EXPECT_EQ(parse_cursor("42\n", "c").offset, 42);
  EXPECT_EQ(parse_cursor("42", "c").offset, 42);
  EXPECT_EQ(parse_cursor("42\n\n\n", "c").offset, 42);
  EXPECT_EQ(parse_cursor("+7\n", "c").offset, 7);
  EXPECT_EQ(parse_cursor("0\n", "c").offset, 0);
  EXPECT_EQ(parse_cursor("-0\n", "c").offset, 0);
  EXPECT_EQ(parse_cursor("9223372036854775807\n", "c").offset, INT64_MAX);
}

TEST(WatchCursor, RejectsGarbageNegativeAndOverflow) {
  EXPECT_EQ(parse_cursor("abc\n", "/x/c").error,
            "invalid cursor file /x/c: parsing \"abc\": invalid syntax");
  EXPECT_EQ(parse_cursor("", "c").error, "invalid cursor file c: parsing \"\": invalid syntax");
  EXPECT_FALSE(parse_cursor(" 5\n", "c").ok());
  EXPECT_FALSE(parse_cursor("5 \n", "c").ok());
  EXPECT_FALSE(parse_cursor("5\r\n", "c").ok());
  EXPECT_FALSE(parse_cursor("0x10\n", "c").ok());
  EXPECT_FALSE(parse_cursor("1_000\n", "c").ok());
  EXPECT_FALSE(parse_cursor("\n5\n", "c").ok());
  EXPECT_EQ(parse_cursor("-5\n", "c").error, "invalid cursor file c: negative offset -5");
  EXPECT_EQ(parse_cursor("9223372036854775808", "c").error,
            "invalid cursor file c: parsing \"9223372036854775808\": value out of range");
}

TEST(WatchCursor, OffsetBeyondTheLogIsReported) {
  EXPECT_EQ(check_cursor_against_log(10, 10, "/logs/run.ndjson", "/c/cur"), "");
  EXPECT_EQ(check_cursor_against_log(0, 0, "run.ndjson", "cur"), "");
  EXPECT_EQ(check_cursor_against_log(11, 10, "/logs/run.ndjson", "/c/cur"),
            "log run.ndjson shorter than cursor (offset 11 > size 10) (cursor /c/cur)");
}

TEST(WatchCursor, WritesOffsetAndNewlineWithMode0644ViaTemp) {
  test::TempDir dir;
  const auto path = dir / "cursor";
  const mode_t old_umask = ::umask(077);
  const std::string error = write_cursor(path, 1234);
  ::umask(old_umask);
  ASSERT_EQ(error, "");
  EXPECT_EQ(test::read_file(path), "1234\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"cursor"});
  ASSERT_EQ(write_cursor(path, 7), "");
  EXPECT_EQ(test::read_file(path), "7\n");
  EXPECT_EQ(read_cursor(path).offset, 7);
}

TEST(WatchCursor, WriteFailureRemovesTheTempFile) {
  test::TempDir dir;
  // A directory at the cursor path is refused before any temp file exists.
  std::filesystem::create_directories(dir / "cursor" / "inside");
  const std::string error = write_cursor(dir / "cursor", 5);
  EXPECT_EQ(error, "write cursor: refusing to replace " + (dir / "cursor").string() +
                       ": not a regular file");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"cursor"});
  // An unwritable directory fails at the temp file.
  EXPECT_NE(write_cursor(dir / "missing" / "cursor", 5).find("write cursor tmp"),
            std::string::npos);
}

TEST(WatchCursor, UnreadableCursorIsAnError) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "adir");
  const CursorRead read = read_cursor(dir / "adir");
  EXPECT_FALSE(read.ok());
  EXPECT_NE(read.error.find("read cursor file"), std::string::npos) << read.error;
}

TEST(WatchCursor, AFifoOrDeviceCursorIsRefusedWithoutBlocking) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  CursorRead read = read_cursor(dir / "fifo");
  EXPECT_EQ(read.error, "read cursor file " + (dir / "fifo").string() + ": not a regular file");
  read = read_cursor("/dev/zero");
  EXPECT_EQ(read.error, "read cursor file /dev/zero: not a regular file");
  test::write_file(dir / "big", std::string(5000, '1'));
  read = read_cursor(dir / "big");
  EXPECT_EQ(read.error, "read cursor file " + (dir / "big").string() + ": file too large");
}

TEST(WatchCursor, NeverReplacesOrTruncatesWhatIsNotOurs) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "cursor").c_str(), 0600), 0);
  EXPECT_EQ(
      write_cursor(dir / "cursor", 5),
      "write cursor: refusing to replace " + (dir / "cursor").string() + ": not a regular file");
  EXPECT_TRUE(std::filesystem::is_fifo(dir / "cursor"));
  // A FIFO at the temp name is neither opened for a blocking write nor removed.
  ASSERT_EQ(::mkfifo((dir / "c2.tmp").c_str(), 0600), 0);
  EXPECT_EQ(write_cursor(dir / "c2", 5),
            "write cursor tmp " + (dir / "c2.tmp").string() + ": not a regular file");
  EXPECT_TRUE(std::filesystem::is_fifo(dir / "c2.tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir / "c2"));
  // A leftover regular temp file of ours is reused.
  test::write_file(dir / "c3.tmp", "stale stale stale\n");
  EXPECT_EQ(write_cursor(dir / "c3", 12), "");
  EXPECT_EQ(test::read_file(dir / "c3"), "12\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "c3.tmp"));
}

}  // namespace
}  // namespace avenor::host::watch
