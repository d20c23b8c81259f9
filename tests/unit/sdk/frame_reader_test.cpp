#include <gtest/gtest.h>

#include <avenor/sdk/frame_reader.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using avenor::sdk::FrameReader;
using Frames = std::vector<std::string>;

TEST(FrameReader, SplitsNewlineDelimitedFrames) {
  FrameReader r;
  EXPECT_EQ(r.feed("{\"a\":1}\n{\"b\":2}\n"), (Frames{"{\"a\":1}", "{\"b\":2}"}));
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, HoldsPartialLinesAcrossFeeds) {
  FrameReader r;
  EXPECT_TRUE(r.feed("{\"a\":").empty());
  EXPECT_EQ(r.buffered(), 5u);
  EXPECT_TRUE(r.feed("1").empty());
  EXPECT_EQ(r.feed("}\n{\"b\""), (Frames{"{\"a\":1}"}));
  EXPECT_EQ(r.feed(":2}\n"), (Frames{"{\"b\":2}"}));
}

TEST(FrameReader, ByteAtATime) {
  FrameReader r;
  std::string input = "{\"x\":1}\r\n\n{\"y\":2}\n";
  Frames all;
  for (char c : input) {
    for (auto& f : r.feed(std::string(1, c))) all.push_back(f);
  }
  EXPECT_EQ(all, (Frames{"{\"x\":1}", "{\"y\":2}"}));
}

TEST(FrameReader, StripsCarriageReturnAndSkipsBlankLines) {
  FrameReader r;
  EXPECT_EQ(r.feed("\n\r\n   \n{\"a\":1}\r\n\t\r\n{\"b\":2}\n"),
            (Frames{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(FrameReader, ContentLengthBlock) {
  FrameReader r;
  std::string body = "{\"jsonrpc\":\"2.0\",\"id\":1}";
  EXPECT_EQ(r.feed("Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body),
            (Frames{body}));
}

TEST(FrameReader, ContentLengthBodyMayContainNewlinesAndArriveInPieces) {
  FrameReader r;
  std::string body = "{\n  \"id\": 1\n}";
  std::string block = "content-length:" + std::to_string(body.size()) +
                      "\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + body;
  Frames all;
  for (std::size_t i = 0; i < block.size(); i += 3) {
    for (auto& f : r.feed(block.substr(i, 3))) all.push_back(f);
  }
  EXPECT_EQ(all, (Frames{body}));
}

TEST(FrameReader, MixesBlocksAndLines) {
  FrameReader r;
  EXPECT_EQ(
      r.feed("{\"a\":1}\nContent-Length: 7\n\n{\"b\":2}{\"c\":3}\nContent-Length: 2\r\n\r\n{}"),
      (Frames{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "{}"}));
}

TEST(FrameReader, HeaderBlockWithoutLengthIsPassedOnRaw) {
  FrameReader r;
  EXPECT_EQ(r.feed("Content-Type: x\r\n\r\n{\"a\":1}\n"),
            (Frames{"Content-Type: x\r\n\r\n", "{\"a\":1}"}));
}

TEST(FrameReader, BadLengthIsPassedOnRaw) {
  FrameReader r(100);
  EXPECT_EQ(r.feed("Content-Length: 1000\r\n\r\n"), (Frames{"Content-Length: 1000\r\n\r\n"}));
  EXPECT_EQ(r.feed("Content-Length: abc\n\n"), (Frames{"Content-Length: abc\n\n"}));
}

TEST(FrameReader, NonHeaderLineInsideHeaderBlockEndsIt) {
  FrameReader r;
  EXPECT_EQ(r.feed("Content-Length: 2\n{\"a\":1}\n"), (Frames{"Content-Length: 2\n{\"a\":1}\n"}));
}

TEST(FrameReader, OtherColonLinesAreOrdinaryFrames) {
  FrameReader r;
  // Only LSP's own header names start a block; anything else is a line frame
  // (which the decoder will then reject).
  EXPECT_EQ(r.feed("Error: boom\n"), (Frames{"Error: boom"}));
}

TEST(FrameReader, EmptyBodyIsSkipped) {
  FrameReader r;
  EXPECT_EQ(r.feed("Content-Length: 0\r\n\r\n{\"a\":1}\n"), (Frames{"{\"a\":1}"}));
}

TEST(FrameReader, CallbackFeedSeesTheSameFramesWithoutCopies) {
  FrameReader r;
  Frames got;
  r.feed("{\"a\":1}\nContent-Length: 7\r\n\r\n{\"b\":2}{\"c\"",
         [&](std::string_view f) { got.emplace_back(f); });
  r.feed(":3}\n", [&](std::string_view f) { got.emplace_back(f); });
  EXPECT_EQ(got, (Frames{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}));
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, AFrameWhoseCallbackThrowsIsNotDeliveredAgain) {
  FrameReader r;
  int calls = 0;
  EXPECT_THROW(r.feed("x\ny\n",
                      [&](std::string_view) {
                        if (++calls == 1) throw std::runtime_error("boom");
                      }),
               std::runtime_error);
  Frames rest;
  r.feed("z\n", [&](std::string_view f) { rest.emplace_back(f); });
  EXPECT_EQ(rest, (Frames{"y", "z"}));
}

// A partial line is completed from the next read and the rest of that read is
// taken in place: every way of cutting a stream gives the frames of the whole.
TEST(FrameReader, EveryTwoWaySplitGivesTheSameFrames) {
  const std::string stream =
      "{\"a\":1}\n\n{\"b\":2}\r\nContent-Length: 9\r\n\r\n{\"c\":\n3}\n{\"d\":4}\n"
      "Content-Length: x\r\n\r\n{\"e\":5}\n{\"f\":6}";
  FrameReader whole;
  const Frames expected = whole.feed(stream);
  ASSERT_EQ(expected.size(), 6u);
  for (std::size_t a = 0; a <= stream.size(); ++a) {
    for (std::size_t b = a; b <= stream.size(); ++b) {
      FrameReader r;
      Frames got;
      auto keep = [&](std::string_view f) { got.emplace_back(f); };
      r.feed(std::string_view(stream).substr(0, a), keep);
      r.feed(std::string_view(stream).substr(a, b - a), keep);
      r.feed(std::string_view(stream).substr(b), keep);
      ASSERT_EQ(got, expected) << a << " " << b;
      ASSERT_EQ(r.buffered(), whole.buffered()) << a << " " << b;
    }
  }
}

TEST(FrameReader, AThrowWhileCompletingALineKeepsTheRestOfTheRead) {
  FrameReader r;
  r.feed("{\"a\"", [](std::string_view) {});
  EXPECT_THROW(r.feed(":1}\ny\nz", [](std::string_view) { throw std::runtime_error("boom"); }),
               std::runtime_error);
  Frames rest;
  r.feed("\n", [&](std::string_view f) { rest.emplace_back(f); });
  EXPECT_EQ(rest, (Frames{"y", "z"}));
}

}  // namespace
