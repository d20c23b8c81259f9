#include <gtest/gtest.h>

#include <avenor/sdk/json_lines.hpp>
#include <avenor/sdk/testing/fake_host.hpp>
#include <string>
#include <vector>

namespace {

using avenor::sdk::JsonLines;
using Lines = std::vector<std::string>;

TEST(JsonLines, SplitsOnLineFeedOnlyAndStripsCarriageReturn) {
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

TEST(JsonLines, HoldsPartialRecordsAcrossChunksAndSkipsBlankLines) {
  JsonLines r;
  EXPECT_TRUE(r.feed("{\"a\":").lines.empty());
  EXPECT_EQ(r.buffered(), 5u);
  EXPECT_EQ(r.feed("1}\n\n  \r\n{\"b\"").lines, (Lines{"{\"a\":1}"}));
  EXPECT_EQ(r.feed(":2}\n").lines, (Lines{"{\"b\":2}"}));
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(JsonLines, ARecordOverTheCapEndsTheStream) {
  JsonLines r(8);
  EXPECT_EQ(r.feed("12345678\n").lines, (Lines{"12345678"}));
  auto batch = r.feed("123456789\n{}\n");
  EXPECT_TRUE(batch.lines.empty());
  ASSERT_TRUE(batch.error);
  EXPECT_EQ(*batch.error, "backend: a JSON line exceeds 8 bytes");
  EXPECT_TRUE(r.feed("{}\n").lines.empty()) << "nothing is read after the failure";
}

TEST(JsonLines, AnUnterminatedRecordOverTheCapFailsWithoutWaitingForItsEnd) {
  JsonLines r(8);
  EXPECT_FALSE(r.feed("12345678\r").error) << "a CR may still precede the LF";
  EXPECT_TRUE(r.feed("9").error);
}

TEST(JsonLines, TheErrorNamesItsOwner) {
  JsonLines r(4, "claude");
  EXPECT_EQ(r.feed("12345\n").error, "claude: a JSON line exceeds 4 bytes");
}

TEST(JsonLines, ARecordThatIsNoJsonObjectIsSkippedWithAWarning) {
  avenor::sdk::testing::FakeHost fake;
  JsonLines r(64, "pi");
  EXPECT_EQ(r.object_of(R"({"type":"x"})", fake.host())->at("type"), "x");
  EXPECT_FALSE(r.object_of("not json", fake.host()));
  EXPECT_FALSE(r.object_of("[1]", fake.host()));
  ASSERT_EQ(fake.logs.size(), 2u);
  EXPECT_EQ(fake.logs[0].second.rfind("pi: skipping a stdout line that is not JSON (", 0), 0u);
  EXPECT_EQ(fake.logs[1].second, "pi: skipping a stdout line that is not a JSON object: [1]");
}

TEST(JsonLines, DefaultCapIs50MiB) { EXPECT_EQ(JsonLines::kDefaultMaxLine, 50u * 1024 * 1024); }

}  // namespace
