// EventText and Host::emit (ABI 1.2): the plugin serialises each event once,
// keeps the envelope out and hands the host the fields it reads.
#include <gtest/gtest.h>

#include <avenor/sdk/event_text.hpp>
#include <avenor/sdk/host.hpp>
#include <avenor/sdk/testing/fake_host.hpp>

namespace {

namespace bj = boost::json;
using avenor::sdk::EventText;
using avenor::sdk::testing::FakeHost;

TEST(EventText, KeepsTheEnvelopeOutAndTheFirstValueOfAKey) {
  EventText t;
  t.begin("agent.message_chunk");
  t.add("session_id", "ses_1");
  t.add_all(bj::parse(R"({"seq":9223372036854775807,"ts":1,"run_id":"evil","run_label":"x",)"
                      R"("runtime_id":"rt_9","event":"other","session_id":"s2","n":1})")
                .as_object());
  t.close();
  EXPECT_EQ(t.json(), R"({"event":"agent.message_chunk","session_id":"ses_1","n":1})");
  EXPECT_EQ(t.type(), "agent.message_chunk");
  EXPECT_EQ(t.session_id(), "ses_1");
}

TEST(EventText, LeavesOutAnEmptySessionId) {
  EventText t;
  t.assign(bj::parse(R"({"event":"x","session_id":"","k":[1,2]})").as_object());
  EXPECT_EQ(t.json(), R"({"event":"x","k":[1,2]})");
  EXPECT_EQ(t.session_id(), "");
}

TEST(EventText, ChunkTextIsContentTextElseDelta) {
  EventText t;
  t.assign(
      bj::parse(R"({"event":"c","delta":"d","content":{"type":"text","text":"t"}})").as_object());
  EXPECT_EQ(t.text(), "t");
  t.assign(bj::parse(R"({"event":"c","delta":"d","content":{"text":""}})").as_object());
  EXPECT_EQ(t.text(), "d");
  t.assign(bj::parse(R"({"event":"c","content":{"text":5}})").as_object());
  EXPECT_EQ(t.text(), "");
  EXPECT_FALSE(t.has_usage());
  t.assign(bj::parse(R"({"event":"session.end","usage":{"input_tokens":1}})").as_object());
  EXPECT_TRUE(t.has_usage());
  t.assign(bj::parse(R"({"event":"session.end","usage":7})").as_object());
  EXPECT_FALSE(t.has_usage());
}

TEST(EventText, OutputIsValidJsonInValidUtf8) {
  EventText t;
  bj::object o{{"event", "x"}, {"s", "a\xff\n"}, {"inf", 1e308 * 10}, {"f", 1.5}, {"i", -3}};
  t.assign(o);
  EXPECT_EQ(t.json(),
            "{\"event\":\"x\",\"s\":\"a\xEF\xBF\xBD\\n\",\"inf\":null,\"f\":1.5,\"i\":-3}");
  EXPECT_NO_THROW((void)bj::parse(t.json()));
}

TEST(EventText, RepeatedStartsReuseTheirBytesAndStayExact) {
  EventText t;
  auto make = [&t](std::string_view type, std::string_view sid, std::string_view kind,
                   std::string_view members) {
    t.begin(type, sid, "session_update", kind);
    t.add_serialized(members, "", "", false);
    t.close();
    return std::string(t.json());
  };
  EXPECT_EQ(make("a.b", "s1", "k", R"("n":1)"),
            R"({"event":"a.b","session_id":"s1","session_update":"k","n":1})");
  EXPECT_EQ(make("a.b", "s1", "k", R"("n":22)"),
            R"({"event":"a.b","session_id":"s1","session_update":"k","n":22})");
  EXPECT_EQ(make("a.b", "", "k", ""), R"({"event":"a.b","session_update":"k"})");
  EXPECT_EQ(make("a.b", "", "k", R"("x":[])"), R"({"event":"a.b","session_update":"k","x":[]})");
  EXPECT_EQ(make("c", "s2", "j", ""), R"({"event":"c","session_id":"s2","session_update":"j"})");
  t.assign(bj::object{{"event", "other"}});
  EXPECT_EQ(make("c", "s2", "j", R"("y":1)"),
            R"({"event":"c","session_id":"s2","session_update":"j","y":1})");
  EXPECT_FALSE(t.add("session_update", "again"));  // its keys are still known
}

TEST(HostEmit, UsesTheSerialisedPathWhenTheHostHasIt) {
  FakeHost fake;
  fake.host().emit(bj::parse(R"({"event":"agent.thought_chunk","session_id":"s","seq":5,)"
                             R"("content":{"text":"hm"},"usage":{"a":1}})")
                       .as_object());
  ASSERT_EQ(fake.serialized.size(), 1u);
  const FakeHost::Serialized& e = fake.serialized[0];
  EXPECT_EQ(
      e.json,
      R"({"event":"agent.thought_chunk","session_id":"s","content":{"text":"hm"},"usage":{"a":1}})");
  EXPECT_EQ(e.type, "agent.thought_chunk");
  EXPECT_EQ(e.session_id, "s");
  EXPECT_EQ(e.text, "hm");
  EXPECT_EQ(e.flags, std::uint32_t{AVENOR_EVENT_USAGE});
}

TEST(HostEmit, FallsBackToEmitEventOnAnOlderHost) {
  FakeHost fake(1);  // no emit_event_serialized: a 1.1 host
  fake.host().emit(bj::parse(R"({"event":"x","seq":5,"n":1})").as_object());
  EXPECT_TRUE(fake.serialized.empty());
  ASSERT_EQ(fake.events.size(), 1u);
  EXPECT_EQ(fake.events[0], bj::parse(R"({"event":"x","n":1})"));
}

}  // namespace
