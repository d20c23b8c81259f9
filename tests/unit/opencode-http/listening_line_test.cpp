#include "opencode-http/listening_line.hpp"

#include <gtest/gtest.h>

namespace {

using avenor::opencode_http::listening_url;
using avenor::opencode_http::ListeningLineScanner;

TEST(ListeningLine, FindsTheUrlAfterOtherLines) {
  ListeningLineScanner s;
  EXPECT_FALSE(s.feed("Warning: OPENCODE_SERVER_PASSWORD is not set; server is unsecured.\n"));
  EXPECT_FALSE(s.feed("opencode server listening on http://127.0.0.1:4"));
  auto url = s.feed("096\nlater line\n");
  ASSERT_TRUE(url);
  EXPECT_EQ(*url, "http://127.0.0.1:4096");
  EXPECT_TRUE(s.found());
  EXPECT_FALSE(s.feed("opencode server listening on http://127.0.0.1:1\n"));
  EXPECT_EQ(s.recent_output(),
            "Warning: OPENCODE_SERVER_PASSWORD is not set; server is unsecured.");
}

TEST(ListeningLine, OneLine) {
  EXPECT_EQ(listening_url("opencode server listening on http://127.0.0.1:39001\r"),
            "http://127.0.0.1:39001");
  EXPECT_EQ(listening_url("listening on http://[::1]:5/ now"), "http://[::1]:5");
  EXPECT_FALSE(listening_url("listening on https://h:1"));
  EXPECT_FALSE(listening_url("listening on http://"));
  EXPECT_FALSE(listening_url("some other line"));
}

TEST(ListeningLine, RecentOutputIsBounded) {
  ListeningLineScanner s;
  for (int i = 0; i < 1000; ++i) s.feed("error line number " + std::to_string(i) + "\n");
  EXPECT_LE(s.recent_output().size(), 2048u);
  EXPECT_NE(s.recent_output().find("error line number 999"), std::string::npos);
}

}  // namespace
