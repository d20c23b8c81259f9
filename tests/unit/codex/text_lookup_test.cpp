#include "codex/text_lookup.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

using avenor::codex::classify_item;
using avenor::codex::ItemKind;
using avenor::codex::notification_text;
using avenor::codex::text_of;

boost::json::value J(std::string_view text) { return avenor::sdk::json::parse(text); }

TEST(CodexTextLookup, ItemKinds) {
  EXPECT_EQ(classify_item("userMessage"), ItemKind::user);
  EXPECT_EQ(classify_item("reasoning"), ItemKind::reasoning);
  EXPECT_EQ(classify_item("mcpToolCall"), ItemKind::tool);
  EXPECT_EQ(classify_item("dynamicToolCall"), ItemKind::tool);
  EXPECT_EQ(classify_item("function_call"), ItemKind::tool);
  EXPECT_EQ(classify_item("agentMessage"), ItemKind::assistant);
  EXPECT_EQ(classify_item("assistant"), ItemKind::assistant);
  EXPECT_EQ(classify_item("plan"), ItemKind::unknown);
  EXPECT_EQ(classify_item(""), ItemKind::unknown);
}

TEST(CodexTextLookup, TextOfRecursesAndJoins) {
  EXPECT_EQ(text_of(J(R"("plain")")), "plain");
  EXPECT_EQ(text_of(J(R"(["a",{"text":"b"},{"delta":"c"}])")), "abc");
  EXPECT_EQ(text_of(J(R"({"content":[{"type":"text","text":"x"},{"output":"y"}]})")), "xy");
  // the first key with text wins, in the order text, delta, content, message, ...
  EXPECT_EQ(text_of(J(R"({"message":"m","delta":"d"})")), "d");
  EXPECT_EQ(text_of(J(R"({"text":"","arguments":"args"})")), "args");
  EXPECT_EQ(text_of(J(R"({"other":"no"})")), "");
  EXPECT_EQ(text_of(J("42")), "");
}

TEST(CodexTextLookup, NotificationTextOrder) {
  EXPECT_EQ(notification_text(J(R"({"item":{"delta":"1"},"delta":"2"})").as_object()), "1");
  EXPECT_EQ(notification_text(J(R"({"item":{"text":"4"},"delta":"2"})").as_object()), "2");
  EXPECT_EQ(notification_text(J(R"({"item":{"content":[{"text":"3"}],"text":"4"}})").as_object()),
            "3");
  EXPECT_EQ(notification_text(J(R"({"item":{"text":"4"},"text":"5"})").as_object()), "4");
  EXPECT_EQ(notification_text(J(R"({"text":"5","content":"6"})").as_object()), "5");
  EXPECT_EQ(notification_text(J(R"({"content":{"message":"6"}})").as_object()), "6");
  EXPECT_EQ(notification_text(J(R"({"item":{}})").as_object()), "");
}

}  // namespace
