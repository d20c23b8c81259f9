#include "http_debug/permission_answer.hpp"

#include <gtest/gtest.h>

#include "http_debug/request_target.hpp"
#include "util/utf8.hpp"

namespace avenor::host {
namespace {

PermissionAnswerError error_of(std::string_view body) {
  auto parsed = parse_permission_answer(body);
  EXPECT_TRUE(std::holds_alternative<PermissionAnswerError>(parsed)) << body;
  return std::holds_alternative<PermissionAnswerError>(parsed)
             ? std::get<PermissionAnswerError>(parsed)
             : PermissionAnswerError::invalid_json;
}

TEST(HttpDebugPermissionAnswer, ValidBodies) {
  auto a = std::get<PermissionAnswer>(
      parse_permission_answer(R"({"request_id":"r1","option_id":"once","extra":1})"));
  EXPECT_EQ(a.request_id, "r1");
  EXPECT_EQ(a.option_id, "once");
  EXPECT_FALSE(a.message.has_value());

  auto b = std::get<PermissionAnswer>(
      parse_permission_answer(R"({"request_id":"r1","option_id":"o","message":"why \u00e9"})"));
  EXPECT_EQ(b.message, std::optional<std::string>("why \xc3\xa9"));

  auto c = std::get<PermissionAnswer>(
      parse_permission_answer(R"({"request_id":"r1","option_id":"o","message":null})"));
  EXPECT_FALSE(c.message.has_value());

  std::string limit(kMaxPermissionMessageBytes, 'x');
  auto d = std::get<PermissionAnswer>(
      parse_permission_answer(R"({"request_id":"r","option_id":"o","message":")" + limit + "\"}"));
  EXPECT_EQ(d.message->size(), kMaxPermissionMessageBytes);
}

TEST(HttpDebugPermissionAnswer, InvalidJson) {
  for (const char* body :
       {"", "not json", "[]", "\"s\"", "{", R"({"option_id":"o"})", R"({"request_id":"r"})",
        R"({"request_id":1,"option_id":"o"})", R"({"request_id":"r","option_id":null})",
        R"({"request_id":"","option_id":"o"})"}) {
    SCOPED_TRACE(body);
    EXPECT_EQ(error_of(body), PermissionAnswerError::invalid_json);
  }
}

TEST(HttpDebugPermissionAnswer, InvalidMessage) {
  const std::string ids = R"({"request_id":"r","option_id":"o","message":)";
  EXPECT_EQ(error_of(ids + "5}"), PermissionAnswerError::invalid_message);
  EXPECT_EQ(error_of(ids + "{}}"), PermissionAnswerError::invalid_message);
  EXPECT_EQ(error_of(ids + "\"bad \xff byte\"}"), PermissionAnswerError::invalid_message);
  EXPECT_EQ(error_of(ids + "\"" + std::string(kMaxPermissionMessageBytes + 1, 'x') + "\"}"),
            PermissionAnswerError::invalid_message);
}

TEST(HttpDebugPermissionAnswer, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(is_valid_utf8("\xc3\x28"));          // bad continuation
}

TEST(HttpDebugRequestTarget, PathAndQuery) {
  auto t = parse_request_target("/status/rt%2Fa%20b?runtime_id=x+y&token=t%3D&runtime_id=z&flag");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/status/rt/a b");
  EXPECT_EQ(t->query_value("runtime_id"), std::optional<std::string>("x y"));
  EXPECT_EQ(t->query_value("token"), std::optional<std::string>("t="));
  EXPECT_EQ(t->query_value("flag"), std::optional<std::string>(""));
  EXPECT_FALSE(t->query_value("missing"));

  auto plain = parse_request_target("/a+b");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->path, "/a+b");  // '+' is literal in a path

  EXPECT_FALSE(parse_request_target(""));
  EXPECT_FALSE(parse_request_target("status"));
  EXPECT_FALSE(parse_request_target("http://127.0.0.1/status"));
  EXPECT_FALSE(parse_request_target("/bad%zz"));
  EXPECT_FALSE(parse_request_target("/bad%2"));
  EXPECT_FALSE(parse_request_target("/ok?token=%"));
}

}  // namespace
}  // namespace avenor::host
