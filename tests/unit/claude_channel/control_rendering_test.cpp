#include "claude_channel/control_rendering.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <stdexcept>

namespace {

namespace bj = boost::json;
using avenor::host::claude_channel::render_control_message;

bj::object message(std::string_view json) { return bj::parse(json).as_object(); }

TEST(ControlRendering, ContinueIsTheRawMessage) {
  const auto n = render_control_message(
      message(R"({"id":"c1","type":"continue","payload":{"message":"do X","extra":1}})"), "run");
  EXPECT_EQ(n.method, "notifications/claude/channel");
  EXPECT_EQ(n.params.at("content"), "do X");
  EXPECT_EQ(n.params.at("meta"),
            bj::parse(R"({"run_id":"run","ctrl_id":"c1","type":"continue","from_run_id":""})"));
}

TEST(ControlRendering, NonMessagePayloadsAreShownAsJson) {
  const auto n = render_control_message(
      message(R"({"id":"c1","type":"add_context","payload":{"files":["a"]}})"), "run");
  const std::string content(n.params.at("content").as_string());
  EXPECT_EQ(content.rfind("Incorporate", 0), 0u);
  EXPECT_NE(content.find(R"({"files":["a"]})"), std::string::npos) << content;
}

TEST(ControlRendering, FromRunIdComesFromTheMessageOrItsPayload) {
  auto n = render_control_message(
      message(R"({"id":"c","type":"continue","from_run_id":"a","payload":{"message":"m"}})"), "r");
  EXPECT_EQ(n.params.at("meta").at("from_run_id"), "a");
  n = render_control_message(
      message(R"({"id":"c","type":"continue","payload":{"message":"m","from_run_id":"b"}})"), "r");
  EXPECT_EQ(n.params.at("meta").at("from_run_id"), "b");
}

TEST(ControlRendering, UnknownTypesStillReachClaude) {
  const auto n =
      render_control_message(message(R"({"id":"c","type":"nudge","payload":"hey"})"), "r");
  EXPECT_EQ(n.params.at("content"), "avenor message of type \"nudge\":\n\nhey");
}

TEST(ControlRendering, PermissionDecisionAcceptsAllowAsBool) {
  const auto n = render_control_message(
      message(R"({"type":"permission_decision","payload":{"request_id":"q","allow":false}})"), "r");
  EXPECT_EQ(n.method, "notifications/claude/channel/permission");
  EXPECT_EQ(n.params, bj::parse(R"({"request_id":"q","behavior":"deny"})"));
}

TEST(ControlRendering, RejectsUnrenderableMessages) {
  EXPECT_THROW(render_control_message(message(R"({"id":"c"})"), "r"), std::invalid_argument);
  EXPECT_THROW(
      render_control_message(message(R"({"type":"permission_decision","payload":{"request_id":"q",
                   "behavior":"maybe"}})"),
                             "r"),
      std::invalid_argument);
  EXPECT_THROW(render_control_message(message(R"({"type":"permission_decision"})"), "r"),
               std::invalid_argument);
}

}  // namespace
