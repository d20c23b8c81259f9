#include "claude/permissions.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

using namespace avenor::claude;
using avenor::sdk::PermissionAnswer;
namespace json = avenor::sdk::json;

boost::json::object J(std::string_view text) { return json::parse(text).as_object(); }

// Recorded from claude 2.1.197.
constexpr std::string_view kCanUseTool =
    R"({"type":"control_request","request_id":"R1","request":{"subtype":"can_use_tool","tool_name":"Bash","display_name":"Bash","input":{"command":"touch x.txt"},"description":"touch x.txt","permission_suggestions":[],"blocked_path":"/p/x.txt","tool_use_id":"toolu_1"}})";

PermissionAnswer answer(bool allow, std::string option = {}) {
  PermissionAnswer a;
  a.session_id = "S";
  a.request_id = "R1";
  a.allow = allow;
  a.option_id = std::move(option);
  return a;
}

TEST(ClaudePermissions, CanUseToolBecomesAPermissionRequest) {
  PermissionBook book;
  auto e = std::get<boost::json::object>(book.open(J(kCanUseTool), "S"));
  EXPECT_EQ(e.at("event"), "permission.request");
  EXPECT_EQ(e.at("request_id"), "R1");
  EXPECT_EQ(e.at("tool"), "Bash");
  EXPECT_EQ(e.at("command"), "touch x.txt");
  EXPECT_EQ(e.at("description"), "touch x.txt");
  EXPECT_EQ(e.at("path"), "/p/x.txt");
  EXPECT_EQ(e.at("toolCall"), json::parse(R"({"toolCallId":"toolu_1","title":"touch x.txt",
      "kind":"execute","status":"pending","rawInput":{"command":"touch x.txt"}})"));
  EXPECT_EQ(e.at("options").as_array().size(), 2u);
}

TEST(ClaudePermissions, AllowPassesTheInputBackUnchanged) {
  PermissionBook book;
  book.open(J(kCanUseTool), "S");
  auto line = std::get<boost::json::object>(book.answer(answer(true)));
  EXPECT_EQ(line, json::parse(R"({"type":"control_response","response":{"subtype":"success",
      "request_id":"R1","response":{"behavior":"allow","updatedInput":{"command":"touch x.txt"}}}})"));
  EXPECT_TRUE(book.empty());
  EXPECT_EQ(std::get<std::string>(book.answer(answer(true))), "unknown permission request_id: R1");
}

TEST(ClaudePermissions, RejectDeniesWithTheMessage) {
  PermissionBook book;
  book.open(J(kCanUseTool), "S");
  PermissionAnswer a = answer(false, "reject");
  a.message = "not now";
  auto line = std::get<boost::json::object>(book.answer(a));
  EXPECT_EQ(line.at("response").at("response"),
            json::parse(R"({"behavior":"deny","message":"not now"})"));
}

TEST(ClaudePermissions, OptionMustExistAndMatch) {
  PermissionBook book;
  book.open(J(kCanUseTool), "S");
  EXPECT_EQ(std::get<std::string>(book.answer(answer(true, "always"))),
            "unknown permission option_id: always");
  EXPECT_NE(std::get<std::string>(book.answer(answer(true, "reject"))).find("does not match"),
            std::string::npos);
  PermissionAnswer other = answer(true);
  other.session_id = "T";
  EXPECT_EQ(std::get<std::string>(book.answer(other)), "unknown permission request_id: R1");
  EXPECT_FALSE(book.empty());
}

TEST(ClaudePermissions, DenyAllInterrupts) {
  PermissionBook book;
  book.open(J(kCanUseTool), "S");
  auto lines = book.deny_all("cancelled");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("response").at("response"),
            json::parse(R"({"behavior":"deny","message":"cancelled","interrupt":true})"));
  EXPECT_TRUE(book.empty());
}

TEST(ClaudePermissions, MalformedRequests) {
  PermissionBook book;
  EXPECT_TRUE(std::holds_alternative<std::string>(
      book.open(J(R"({"type":"control_request","request":{"subtype":"can_use_tool"}})"), "S")));
  EXPECT_TRUE(std::holds_alternative<std::string>(book.open(
      J(R"({"type":"control_request","request_id":"R","request":{"subtype":"can_use_tool"}})"),
      "S")));
}

}  // namespace
