// The session/update fast path must make exactly the event the general path
// makes (DOM parse, then the update copied member by member), and leave every
// other frame to the general path.
#include <gtest/gtest.h>

#include <avenor/sdk/acp_backend.hpp>
#include <avenor/sdk/acp_update_scanner.hpp>
#include <avenor/sdk/testing/fake_host.hpp>
#include <string>
#include <vector>

namespace {

namespace bj = boost::json;
namespace json = avenor::sdk::json;
using avenor::sdk::EventText;
using avenor::sdk::acp::UpdateScanner;

// The general path, as AcpBackend::on_session_update does it.
bool general(std::string_view frame, EventText& out) {
  boost::system::error_code ec;
  const bj::value v = json::parse(frame, ec);
  if (ec || !v.is_object()) return false;
  const bj::object* params = json::find_object(v.get_object(), "params");
  const bj::object* update = params ? json::find_object(*params, "update") : nullptr;
  const bj::value* kind = update ? json::find(*update, "sessionUpdate") : nullptr;
  if (!kind || !kind->is_string()) return false;
  auto name = avenor::sdk::acp::event_for_update(kind->get_string());
  if (!name) return false;
  const bj::value* session = json::find(*params, "sessionId");
  out.begin(*name);
  out.add("session_id", session && session->is_string() ? std::string_view(session->get_string())
                                                        : std::string_view());
  out.add("session_update", std::string_view(kind->get_string()));
  out.add_all(*update, "sessionUpdate");
  out.close();
  return true;
}

std::string update(std::string_view params) {
  return R"({"jsonrpc":"2.0","method":"session/update","params":)" + std::string(params) + "}";
}

TEST(AcpUpdateScanner, MakesTheSameEventAsTheGeneralPath) {
  const std::vector<std::string> frames = {
      update(R"({"sessionId":"ses_1","update":{"sessionUpdate":"agent_message_chunk",)"
             R"("content":{"type":"text","text":"Hello"}}})"),
      // members before the kind, escapes, unicode, numbers of every kind, nesting
      update(R"({"update":{"messageId":"m\"1\\","content":{"text":"a\nb\u00e9\ud83d\ude00\/",)"
             R"("type":"text"},"sessionUpdate":"agent_thought_chunk","n":[1,-0,2.5,1e3,)"
             R"(18446744073709551615,-9223372036854775808,1e400,1.0E-7,true,false,null,{},[]]},)"
             R"("sessionId":"ses_2","other":{"x":[{"y":1}]}})"),
      // the envelope and the event's own keys are dropped from the update
      update(R"({"sessionId":"s","update":{"sessionUpdate":"tool_call","seq":9223372036854775807,)"
             R"("ts":1,"run_id":"evil","run_label":"l","runtime_id":"rt","event":"x",)"
             R"("session_id":"y","session_update":"z","title":"ls","kind":"execute"}})"),
      update(R"({"sessionId":"","update":{"sessionUpdate":"plan","entries":[]}})"),
      update(R"({"update":{"sessionUpdate":"user_message_chunk","delta":"d\t"}})"),
      update(R"({"sessionId":"s","update":{"sessionUpdate":"tool_call_update",)"
             R"("usage":{"inputTokens":3},"content":[{"type":"text"}]}})"),
      R"({"method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":)"
      R"("agent_message_chunk","content":{"text":"x"}}},"jsonrpc":"2.0"})",
  };
  UpdateScanner scanner(&avenor::sdk::acp::event_for_update);
  for (const std::string& frame : frames) {
    EventText fast, slow;
    ASSERT_TRUE(scanner.scan(frame, fast)) << frame;
    ASSERT_TRUE(general(frame, slow)) << frame;
    EXPECT_EQ(fast.json(), slow.json()) << frame;
    EXPECT_EQ(fast.type(), slow.type());
    EXPECT_EQ(fast.session_id(), slow.session_id());
    EXPECT_EQ(fast.text(), slow.text()) << frame;
    EXPECT_EQ(fast.has_usage(), slow.has_usage()) << frame;
  }
}

TEST(AcpUpdateScanner, LeavesEverythingElseToTheGeneralPath) {
  const std::vector<std::string> frames = {
      R"({"jsonrpc":"2.0","id":1,"result":{}})",
      R"({"jsonrpc":"2.0","id":0,"method":"session/request_permission","params":{}})",
      R"({"jsonrpc":"2.0","method":"session/update","id":3,"params":{"update":{"sessionUpdate":"plan"}}})",
      R"({"jsonrpc":"2.0","method":"other","params":{}})",
      R"({"jsonrpc":"1.0","method":"session/update","params":{"update":{"sessionUpdate":"plan"}}})",
      R"({"method":"session/update","params":{"update":{"sessionUpdate":"plan"}}})",
      update(R"({"update":{"sessionUpdate":"available_commands_update"}})"),
      update(R"({"update":{"sessionUpdate":5}})"),
      update(R"({"update":{"content":{}}})"),
      update(R"({"update":[1]})"),
      update(R"({"update":{"sessionUpdate":"plan","a":1,"a":2}})"),        // duplicate key
      update(R"({"update":{"sessionUpdate":"plan","t":"\ud800"}})"),       // lone surrogate
      update("{\"update\":{\"sessionUpdate\":\"plan\",\"t\":\"\xff\"}}"),  // bad UTF-8
      update(R"({"update":{"sessionUpdate":"plan"}})") + " x",             // trailing bytes
      update(R"({"update":{"sessionUpdate":"plan",}})"),                   // not JSON
      R"([{"jsonrpc":"2.0","method":"session/update"}])",
      "",
  };
  UpdateScanner scanner(&avenor::sdk::acp::event_for_update);
  for (const std::string& frame : frames) {
    EventText out;
    EXPECT_FALSE(scanner.scan(frame, out)) << frame;
  }
  // ... and it still works afterwards.
  EventText out;
  EXPECT_TRUE(scanner.scan(update(R"({"update":{"sessionUpdate":"plan"}})"), out));
  EXPECT_EQ(out.json(), R"({"event":"session.plan","session_update":"plan"})");
}

TEST(AcpUpdateScanner, DeepNestingIsLeftToTheGeneralPath) {
  std::string deep = std::string(40, '[') + std::string(40, ']');
  EventText out;
  UpdateScanner scanner(&avenor::sdk::acp::event_for_update);
  EXPECT_FALSE(
      scanner.scan(update(R"({"update":{"sessionUpdate":"plan","d":)" + deep + "}}"), out));
}

// Through the backend: a lone surrogate no longer fails the run (issue 15),
// and the fast and the general path feed the host the same events.
TEST(AcpUpdateScanner, BackendKeepsEventsWithBadTextAndEmitsSerialised) {
  avenor::sdk::testing::FakeHost fake;
  avenor::sdk::AcpProfile profile;
  profile.argv = {"agent"};
  avenor::sdk::StartOptions options;
  options.dir = "/tmp";
  avenor::sdk::AcpBackend backend(fake.host(), options, profile);
  backend.on_bytes(
      update(R"({"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk",)"
             R"("content":{"text":"cut \ud83d"}}})") +
      "\n" +
      update("{\"sessionId\":\"s\",\"update\":{\"sessionUpdate\":\"agent_message_chunk\","
             "\"content\":{\"text\":\"bad \xff byte\"}}}") +
      "\n" +
      update(R"({"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk",)"
             R"("content":{"text":"big"},"n":1e400}})") +
      "\n");
  EXPECT_TRUE(fake.fatals.empty()) << fake.fatals.front();
  ASSERT_EQ(fake.serialized.size(), 3u);
  EXPECT_EQ(fake.serialized[0].text, "cut \xEF\xBF\xBD");
  EXPECT_EQ(fake.serialized[1].text, "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(
      fake.serialized[2].json,
      R"({"event":"agent.message_chunk","session_id":"s","session_update":"agent_message_chunk",)"
      R"("content":{"text":"big"},"n":null})");
  for (const auto& e : fake.serialized) EXPECT_EQ(e.type, "agent.message_chunk");
}

}  // namespace
