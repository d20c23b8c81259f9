// watch's plain output must not let a log drive the terminal: escape
// sequences, BEL, C1 controls and invalid UTF-8 are made visible or replaced.
#include <gtest/gtest.h>

#include "util/utf8.hpp"
#include "watch/text_clean.hpp"

namespace avenor::host::watch {
namespace {

TEST(WatchTerminalSafe, PlainTextIsUnchanged) {
  EXPECT_EQ(terminal_safe("EVENT agent.status ses_1 done"), "EVENT agent.status ses_1 done");
  EXPECT_EQ(terminal_safe("Grüße — 日本 🙂"), "Grüße — 日本 🙂");
  EXPECT_EQ(terminal_safe(""), "");
}

TEST(WatchTerminalSafe, C0ControlsBecomeControlPictures) {
  EXPECT_EQ(terminal_safe("a\x1b[2Jb"), "a\u241b[2Jb");                  // CSI clear screen
  EXPECT_EQ(terminal_safe("\x1b]0;title\x07"), "\u241b]0;title\u2407");  // OSC set title
  EXPECT_EQ(terminal_safe("x\ny\rz"), "x\u240ay\u240dz");
  EXPECT_EQ(terminal_safe(std::string("n\0l", 3)), "n\u2400l");
  EXPECT_EQ(terminal_safe("del\x7f"), "del\u2421");
  EXPECT_EQ(terminal_safe("a\tb"), "a b");
}

TEST(WatchTerminalSafe, C1ControlsAndInvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(terminal_safe("a\u009b2Jb"), "a\ufffd2Jb");  // 8-bit CSI
  EXPECT_EQ(terminal_safe("\u009d0;t\u009c"), "\ufffd0;t\ufffd");
  EXPECT_EQ(terminal_safe("bad\xff\xfe"), "bad\ufffd\ufffd");
  EXPECT_EQ(terminal_safe("\x9b"), "\ufffd");  // a raw C1 byte is invalid UTF-8
}

TEST(WatchTerminalSafe, OutputIsAlwaysValidAndFreeOfControls) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string out = terminal_safe(all);
  EXPECT_TRUE(is_valid_utf8(out));
  for (char c : out) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_FALSE(u < 0x20 || u == 0x7f) << "control byte " << int(u);
  }
  for (int c1 = 0x80; c1 <= 0x9f; ++c1)
    EXPECT_EQ(out.find(std::string("\xc2") + static_cast<char>(c1)), std::string::npos) << c1;
}

}  // namespace
}  // namespace avenor::host::watch
