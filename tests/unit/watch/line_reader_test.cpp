#include "watch/line_reader.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "../host/test_support.hpp"
#include "util/unique_fd.hpp"

namespace avenor::host::watch {
namespace {

std::vector<std::string> drain(LineReader& reader) {
  std::vector<std::string> lines;
  while (auto line = reader.next_line()) lines.emplace_back(line->text);
  return lines;
}

TEST(WatchLineReader, ReturnsCompleteLinesWithTheirNewline) {
  LineReader reader;
  reader.append("a\nbb\n\nccc\n");
  EXPECT_EQ(drain(reader), (std::vector<std::string>{"a\n", "bb\n", "\n", "ccc\n"}));
  EXPECT_EQ(reader.offset(), 10);
  EXPECT_EQ(reader.held_bytes(), 0u);
}

TEST(WatchLineReader, HoldsAPartialLineUntilItsNewlineArrives) {
  LineReader reader;
  reader.append("{\"event\":\"x\"}\n{\"eve");
  EXPECT_EQ(drain(reader), (std::vector<std::string>{"{\"event\":\"x\"}\n"}));
  EXPECT_EQ(reader.offset(), 14);
  EXPECT_EQ(reader.held_bytes(), 5u);
  EXPECT_FALSE(reader.next_line());
  reader.append("nt\":\"y\"}");
  EXPECT_FALSE(reader.next_line());
  EXPECT_EQ(reader.offset(), 14) << "held bytes never move the offset";
  reader.append("\n");
  EXPECT_EQ(drain(reader), (std::vector<std::string>{"{\"event\":\"y\"}\n"}));
  EXPECT_EQ(reader.offset(), 28);
  EXPECT_EQ(reader.held_bytes(), 0u);
}

TEST(WatchLineReader, OffsetStartsAtTheGivenPosition) {
  LineReader reader(100);
  reader.append("x\ny");
  drain(reader);
  EXPECT_EQ(reader.offset(), 102);
}

TEST(WatchLineReader, ByteAtATime) {
  LineReader reader;
  std::vector<std::string> lines;
  for (char c : std::string("one\ntwo\nthr")) {
    reader.append(std::string(1, c));
    for (auto& l : drain(reader)) lines.push_back(l);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"one\n", "two\n"}));
  EXPECT_EQ(reader.offset(), 8);
  EXPECT_EQ(reader.held_bytes(), 3u);
}

TEST(WatchLineReader, ReadsFromAFileDescriptorInChunks) {
  test::TempDir dir;
  test::write_file(dir / "log", "first\nsecond\npart");
  UniqueFd fd(::open((dir / "log").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  LineReader reader;
  std::vector<std::string> lines;
  while (true) {
    const auto result = reader.read_from(fd.get(), 4);
    ASSERT_EQ(result.error, 0);
    for (auto& l : drain(reader)) lines.push_back(l);
    if (result.bytes == 0) break;
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"first\n", "second\n"}));
  EXPECT_EQ(reader.offset(), 13);
  EXPECT_EQ(reader.held_bytes(), 4u);
}

TEST(WatchLineReader, DropsALineOverTheLimitAndReportsItWhenComplete) {
  LineReader reader(0, 8);
  reader.append("ok\n0123456789");  // 10 bytes held, no end yet
  auto line = reader.next_line();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "ok\n");
  EXPECT_FALSE(reader.next_line());
  EXPECT_EQ(reader.held_bytes(), 0u) << "an oversize partial is let go, not held";
  EXPECT_EQ(reader.offset(), 3);
  reader.append("abcdefghij");
  EXPECT_FALSE(reader.next_line());
  EXPECT_EQ(reader.held_bytes(), 0u);
  reader.append("xyz\nnext\n");
  line = reader.next_line();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->oversize_bytes, 23u);
  EXPECT_TRUE(line->text.empty());
  EXPECT_EQ(reader.offset(), 27) << "the dropped line still moves the offset past it";
  line = reader.next_line();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "next\n");
  EXPECT_EQ(line->oversize_bytes, 0u);
  EXPECT_EQ(reader.offset(), 32);
}

TEST(WatchLineReader, ALineOfExactlyTheLimitIsKept) {
  LineReader reader(0, 8);
  reader.append("01234567");
  EXPECT_FALSE(reader.next_line());
  EXPECT_EQ(reader.held_bytes(), 8u);
  reader.append("\n012345678\n");  // 9 bytes in one piece: over, though complete
  auto line = reader.next_line();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "01234567\n");
  line = reader.next_line();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->oversize_bytes, 9u);
  EXPECT_EQ(reader.offset(), 19);
}

TEST(WatchLineReader, ATornOversizeLineStaysIncomplete) {
  LineReader reader(0, 4);
  reader.append("a\n");
  for (int i = 0; i < 1000; ++i) {
    reader.append("0123456789");
    while (reader.next_line()) {
    }
  }
  EXPECT_EQ(reader.offset(), 2) << "nothing past the last complete line";
  EXPECT_EQ(reader.held_bytes(), 0u);
}

TEST(WatchLineReader, ReportsReadErrors) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  LineReader reader;
  const auto result = reader.read_from(write_end.get(), 16);  // not readable
  EXPECT_NE(result.error, 0);
  EXPECT_EQ(result.bytes, 0u);
}

}  // namespace
}  // namespace avenor::host::watch
