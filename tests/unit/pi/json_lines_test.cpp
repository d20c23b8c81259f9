#include "pi/json_lines.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using avenor::pi::JsonLines;
using Lines = std::vector<std::string>;

TEST(PiJsonLines, SplitsOnLineFeedOnlyAndStripsCarriageReturn) {
  JsonLines r;
  // U+2028 and U+2029 (E2 80 A8 / E2 80 A9) are legal inside JSON strings.
  const std::string sep =
      "{\"t\":\"a\xE2\x80\xA8"
      "b\xE2\x80\xA9"
      "c\"}";
  auto batch = r.feed(sep + "\r\n{\"x\":1}\n");
  EXPECT_EQ(batch.lines, (Lines{sep, "{\"x\":1}"}));
  EXPECT_FALSE(batch.error);
}

TEST(PiJsonLines, HoldsPartialRecordsAcrossChunksAndSkipsBlankLines) {
  JsonLines r;
  EXPECT_TRUE(r.feed("{\"a\":").lines.empty());
  EXPECT_EQ(r.buffered(), 5u);
  EXPECT_EQ(r.feed("1}\n\n  \r\n{\"b\"").lines, (Lines{"{\"a\":1}"}));
  EXPECT_EQ(r.feed(":2}\n").lines, (Lines{"{\"b\":2}"}));
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(PiJsonLines, ARecordOverTheCapEndsTheStream) {
  JsonLines r(8);
  EXPECT_EQ(r.feed("12345678\n").lines, (Lines{"12345678"}));
  auto batch = r.feed("123456789\n{}\n");
  EXPECT_TRUE(batch.lines.empty());
  ASSERT_TRUE(batch.error);
  EXPECT_NE(batch.error->find("exceeds 8 bytes"), std::string::npos);
  EXPECT_TRUE(r.feed("{}\n").lines.empty()) << "nothing is read after the failure";
}

TEST(PiJsonLines, AnUnterminatedRecordOverTheCapFailsWithoutWaitingForItsEnd) {
  JsonLines r(8);
  EXPECT_FALSE(r.feed("12345678\r").error) << "a CR may still precede the LF";
  EXPECT_TRUE(r.feed("9").error);
}

TEST(PiJsonLines, DefaultCapIs50MiB) { EXPECT_EQ(JsonLines::kDefaultMaxLine, 50u * 1024 * 1024); }

}  // namespace
