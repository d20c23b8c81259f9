#include "opencode-http/server_address.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/basic_auth.hpp>
#include <stdexcept>

namespace {

using avenor::opencode_http::dir_allowed_with_url;
using avenor::opencode_http::redact_userinfo;
using avenor::opencode_http::ServerAddress;
using avenor::sdk::base64_encode;
using avenor::sdk::percent_decode;

TEST(ServerAddress, PlainUrl) {
  auto a = ServerAddress::parse("http://127.0.0.1:4096");
  EXPECT_EQ(a.base(), "http://127.0.0.1:4096");
  EXPECT_EQ(a.authorization(), "");
  EXPECT_EQ(a.url("/global/health"), "http://127.0.0.1:4096/global/health");
}

TEST(ServerAddress, TrailingSlashesQueryAndFragmentAreDropped) {
  EXPECT_EQ(ServerAddress::parse("http://h:1/").base(), "http://h:1");
  EXPECT_EQ(ServerAddress::parse("http://h:1/prefix//?x=1#y").base(), "http://h:1/prefix");
  EXPECT_EQ(ServerAddress::parse("http://h").base(), "http://h");
}

TEST(ServerAddress, UserinfoBecomesBasicAuthAndLeavesTheBase) {
  auto a = ServerAddress::parse("http://opencode:s3cret@127.0.0.1:4096/");
  EXPECT_EQ(a.base(), "http://127.0.0.1:4096");
  EXPECT_EQ(a.authorization(), "Basic " + base64_encode("opencode:s3cret"));
  EXPECT_EQ(a.url("/event").find("s3cret"), std::string::npos);
}

TEST(ServerAddress, UserinfoIsPercentDecoded) {
  auto a = ServerAddress::parse("http://us%65r:p%40ss%3Aword@h:1");
  EXPECT_EQ(a.authorization(), "Basic " + base64_encode("user:p@ss:word"));
  EXPECT_EQ(ServerAddress::parse("http://onlyuser@h:1").authorization(),
            "Basic " + base64_encode("onlyuser:"));
}

TEST(ServerAddress, RejectsOtherSchemesWithoutEchoingThePassword) {
  try {
    ServerAddress::parse("https://u:topsecret@h:1");
    FAIL() << "https accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("https is not supported"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ServerAddress::parse("ftp://h"), std::invalid_argument);
  EXPECT_THROW(ServerAddress::parse("127.0.0.1:4096"), std::invalid_argument);
  EXPECT_THROW(ServerAddress::parse("http://"), std::invalid_argument);
  EXPECT_THROW(ServerAddress::parse("http://u:p@/x"), std::invalid_argument);
}

TEST(ServerAddress, Redaction) {
  EXPECT_EQ(redact_userinfo("http://u:p@h:1/x"), "http://***@h:1/x");
  EXPECT_EQ(redact_userinfo("http://h:1/a@b"), "http://h:1/a@b");
  EXPECT_EQ(redact_userinfo("http://h:1"), "http://h:1");
}

TEST(ServerAddress, Base64AndPercentDecoding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(percent_decode("a%2"), "a%2");
  EXPECT_EQ(percent_decode("%zz%41"), "%zzA");
}

TEST(ServerAddress, DirRuleWithAUrl) {
  EXPECT_TRUE(dir_allowed_with_url(""));
  EXPECT_TRUE(dir_allowed_with_url("."));
  EXPECT_FALSE(dir_allowed_with_url("./"));
  EXPECT_FALSE(dir_allowed_with_url("/tmp"));
}

}  // namespace
