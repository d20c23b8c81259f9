#include "opencode-http/event_mapper.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

namespace oh = avenor::opencode_http;
namespace json = avenor::sdk::json;
using oh::SessionSignal;

// Payloads as opencode 1.18.33 sent them (captured from `opencode serve`).
constexpr const char* kTextPart =
    R"({"id":"evt_1","type":"message.part.updated","properties":{"sessionID":"ses_1","part":{"id":"prt_t","messageID":"msg_a","sessionID":"ses_1","type":"text","text":""},"time":1}})";
constexpr const char* kDelta =
    R"({"id":"evt_2","type":"message.part.delta","properties":{"sessionID":"ses_1","messageID":"msg_a","partID":"prt_t","field":"text","delta":"OC-FAKE-"}})";
constexpr const char* kAsked =
    R"({"id":"evt_3","type":"permission.asked","properties":{"id":"per_9","sessionID":"ses_1","permission":"bash","patterns":["printf 'X'"],"metadata":{"command":"printf 'X'"},"always":["printf *"],"tool":{"messageID":"msg_a","callID":"call_1"}}})";

TEST(EventMapper, TextDeltaIsAMessageChunk) {
  oh::EventMapper m;
  m.map(kTextPart);
  auto r = m.map(kDelta);
  EXPECT_EQ(r.session_id, "ses_1");
  ASSERT_TRUE(r.event);
  EXPECT_EQ(
      json::dump(*r.event),
      R"({"event":"agent.message_chunk","session_id":"ses_1","delta":"OC-FAKE-","message_id":"msg_a","part_id":"prt_t"})");
}

TEST(EventMapper, DeltaOfAnUnknownPartIsAMessageChunk) {
  oh::EventMapper m;
  auto r = m.map(kDelta);
  EXPECT_EQ(json::string_or(*r.event, "event"), "agent.message_chunk");
}

TEST(EventMapper, ReasoningByFieldOrByPartType) {
  oh::EventMapper m;
  auto r = m.map(
      R"({"type":"message.part.delta","properties":{"sessionID":"s","partID":"p","field":"reasoning","delta":"hm"}})");
  EXPECT_EQ(json::string_or(*r.event, "event"), "agent.thought_chunk");
  // opencode 1.18 streams reasoning with field "text" on a reasoning part.
  m.map(
      R"({"type":"message.part.updated","properties":{"sessionID":"s","part":{"id":"r1","type":"reasoning"}}})");
  r = m.map(
      R"({"type":"message.part.delta","properties":{"sessionID":"s","partID":"r1","field":"text","delta":"think"}})");
  EXPECT_EQ(json::string_or(*r.event, "event"), "agent.thought_chunk");
  EXPECT_EQ(json::string_or(*r.event, "delta"), "think");
}

TEST(EventMapper, DeltaOfAToolPartIsPassedThrough) {
  oh::EventMapper m;
  m.map(
      R"({"type":"message.part.updated","properties":{"sessionID":"s","part":{"id":"t1","type":"tool"}}})");
  auto r = m.map(
      R"({"type":"message.part.delta","properties":{"sessionID":"s","partID":"t1","field":"output","delta":"x"}})");
  EXPECT_EQ(json::string_or(*r.event, "event"), "http.message.part.delta");
}

TEST(EventMapper, PartUpdatesAndUnknownTypesPassThrough) {
  oh::EventMapper m;
  auto r = m.map(kTextPart);
  ASSERT_TRUE(r.event);
  EXPECT_EQ(json::string_or(*r.event, "event"), "http.message.part.updated");
  EXPECT_EQ(json::string_or(*r.event, "session_id"), "ses_1");
  EXPECT_TRUE(json::find_object(*r.event, "part"));
  r = m.map(R"({"type":"plugin.added","properties":{"id":"agent"}})");
  EXPECT_EQ(json::dump(*r.event), R"({"event":"http.plugin.added","id":"agent"})");
  EXPECT_EQ(r.session_id, "");
  // A property named like the envelope does not replace it.
  r = m.map(R"({"type":"x.y","properties":{"event":"evil","sessionID":"s"}})");
  EXPECT_EQ(json::string_or(*r.event, "event"), "http.x.y");
}

TEST(EventMapper, IgnoredTypes) {
  oh::EventMapper m;
  for (const char* type : {"server.heartbeat", "session.diff", "session.updated", "session.idle"}) {
    auto r = m.map(std::string(R"({"type":")") + type + R"(","properties":{"sessionID":"s"}})");
    EXPECT_FALSE(r.event) << type;
    EXPECT_EQ(r.signal, SessionSignal::none) << type;
  }
  auto r = m.map(R"({"id":"evt","type":"server.connected","properties":{}})");
  EXPECT_TRUE(r.server_connected);
  EXPECT_FALSE(r.event);
}

TEST(EventMapper, SessionStatus) {
  oh::EventMapper m;
  auto busy =
      m.map(R"({"type":"session.status","properties":{"sessionID":"s","status":{"type":"busy"}}})");
  EXPECT_EQ(busy.signal, SessionSignal::busy);
  EXPECT_FALSE(busy.event);
  auto idle =
      m.map(R"({"type":"session.status","properties":{"sessionID":"s","status":{"type":"idle"}}})");
  EXPECT_EQ(idle.signal, SessionSignal::idle);
  auto retry = m.map(
      R"({"type":"session.status","properties":{"sessionID":"s","status":{"type":"retry","attempt":2,"message":"injected failure","next":1}}})");
  EXPECT_EQ(retry.signal, SessionSignal::none);
  ASSERT_TRUE(retry.event);
  EXPECT_EQ(json::string_or(*retry.event, "event"), "http.session.status");
}

TEST(EventMapper, SessionError) {
  oh::EventMapper m;
  auto r = m.map(
      R"({"type":"session.error","properties":{"sessionID":"s","error":{"name":"MessageAbortedError","data":{"message":"Aborted"}}}})");
  EXPECT_EQ(r.signal, SessionSignal::error);
  EXPECT_EQ(r.error_name, "MessageAbortedError");
  EXPECT_EQ(r.error_message, "Aborted");
  EXPECT_FALSE(r.event);
  EXPECT_EQ(m.map(R"({"type":"session.error","properties":{"sessionID":"s"}})").error_name,
            "UnknownError");
}

TEST(EventMapper, PermissionAsked) {
  oh::EventMapper m;
  auto r = m.map(kAsked);
  ASSERT_TRUE(r.event && r.permission);
  const auto& e = *r.event;
  EXPECT_EQ(json::string_or(e, "event"), "permission.request");
  EXPECT_EQ(json::string_or(e, "session_id"), "ses_1");
  EXPECT_EQ(json::string_or(e, "request_id"), "per_9");
  EXPECT_EQ(json::string_or(e, "tool"), "permission.bash");
  EXPECT_EQ(json::string_or(e, "question"), "bash: printf 'X'");
  EXPECT_EQ(json::dump(e.at("tool_ref")), R"({"messageID":"msg_a","callID":"call_1"})");
  EXPECT_EQ(json::dump(e.at("patterns")), R"(["printf 'X'"])");
  const auto& options = e.at("options").as_array();
  ASSERT_EQ(options.size(), 4u);
  EXPECT_EQ(json::string_or(options[2].as_object(), "optionId"), "per_9");
  EXPECT_EQ(r.permission->request_id, "per_9");
  EXPECT_EQ(r.permission->options, options);
}

TEST(EventMapper, PermissionAskedWithoutAlwaysHasNoAlwaysOption) {
  oh::EventMapper m;
  auto r = m.map(
      R"({"type":"permission.asked","properties":{"id":"per_1","sessionID":"s","permission":"edit","patterns":[],"always":[]}})");
  EXPECT_EQ(r.event->at("options").as_array().size(), 3u);
  EXPECT_EQ(json::string_or(*r.event, "question"), "edit");
}

TEST(EventMapper, LegacyPermissionRequest) {
  oh::EventMapper m;
  auto r = m.map(
      R"({"type":"permission.request","properties":{"sessionID":"s","requestID":"r1","title":"Run?"}})",
      "evt_7");
  EXPECT_EQ(json::string_or(*r.event, "request_id"), "r1");
  EXPECT_FALSE(r.event->contains("requestID"));
  EXPECT_EQ(json::string_or(*r.event, "title"), "Run?");
  EXPECT_EQ(r.event->at("options").as_array().size(), 3u);
  // Without requestID the SSE event id stands in.
  r = m.map(R"({"type":"permission.request","properties":{"sessionID":"s"}})", "evt_8");
  EXPECT_EQ(json::string_or(*r.event, "request_id"), "evt_8");
  EXPECT_EQ(r.permission->request_id, "evt_8");
}

TEST(EventMapper, PermissionReplied) {
  oh::EventMapper m;
  auto r = m.map(
      R"({"type":"permission.replied","properties":{"sessionID":"s","requestID":"per_9","reply":"once"}})");
  EXPECT_EQ(r.answered_request_id, "per_9");
  EXPECT_EQ(json::string_or(*r.event, "event"), "http.permission.replied");
}

TEST(EventMapper, RejectsPayloadsWithoutAType) {
  oh::EventMapper m;
  EXPECT_THROW(m.map("not json"), std::runtime_error);
  EXPECT_THROW(m.map(R"({"properties":{}})"), std::runtime_error);
  EXPECT_THROW(m.map("[1]"), std::runtime_error);
  auto r = m.map(R"({"type":"lonely"})");
  EXPECT_EQ(json::dump(*r.event), R"({"event":"http.lonely"})");
}

}  // namespace
