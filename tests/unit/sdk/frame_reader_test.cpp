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

}  // namespace
