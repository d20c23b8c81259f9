#include "http_debug/debug_token.hpp"

#include <gtest/gtest.h>

#include <set>

namespace avenor::host {
namespace {

TEST(HttpDebugToken, ThirtyTwoLowercaseHexCharacters) {
  std::string token = make_debug_token();
  ASSERT_EQ(token.size(), 32u);
  for (char c : token) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << token;
}

TEST(HttpDebugToken, FreshEachTime) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) seen.insert(make_debug_token());
  EXPECT_EQ(seen.size(), 16u);
}

TEST(HttpDebugToken, Compare) {
  const std::string token = "0123456789abcdef0123456789abcdef";
  EXPECT_TRUE(debug_token_equals(token, token));
  EXPECT_TRUE(debug_token_equals(token, std::string(token)));
  EXPECT_FALSE(debug_token_equals(token, "0123456789abcdef0123456789abcdee"));
  EXPECT_FALSE(debug_token_equals(token, "1123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(debug_token_equals(token, "0123456789ABCDEF0123456789ABCDEF"));
  EXPECT_FALSE(debug_token_equals(token, token.substr(0, 31)));
  EXPECT_FALSE(debug_token_equals(token, token + "0"));
  EXPECT_FALSE(debug_token_equals(token, ""));
  // An unset token never matches, not even an empty header.
  EXPECT_FALSE(debug_token_equals("", ""));
}

}  // namespace
}  // namespace avenor::host
