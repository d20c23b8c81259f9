// The compact reader copies an update's bytes instead of re-encoding them, so
// whatever it accepts must come out exactly as the full parser makes it, and
// whatever it is unsure of must be left to that parser.
#include <gtest/gtest.h>

#include <avenor/sdk/acp_backend.hpp>
#include <avenor/sdk/acp_compact_update.hpp>
#include <avenor/sdk/acp_update_scanner.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

using avenor::sdk::EventText;
using avenor::sdk::acp::CompactUpdateReader;
using avenor::sdk::acp::UpdateScanner;

std::string frame(std::string_view session, std::string_view update) {
  return R"({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":")" +
         std::string(session) + R"(","update":)" + std::string(update) + "}}";
}

// The reader's event (through scan) against the parser's, field by field.
void expect_same_event(std::string_view text) {
  UpdateScanner scanner(&avenor::sdk::acp::event_for_update);
  EventText fast, slow;
  const bool fast_ok = scanner.scan(text, fast);
  const bool slow_ok = scanner.parse(text, slow);
  ASSERT_EQ(fast_ok, slow_ok) << text;
  if (!fast_ok) return;
  EXPECT_EQ(fast.json(), slow.json()) << text;
  EXPECT_EQ(fast.type(), slow.type()) << text;
  EXPECT_EQ(fast.session_id(), slow.session_id()) << text;
  EXPECT_EQ(fast.text(), slow.text()) << text;
  EXPECT_EQ(fast.has_usage(), slow.has_usage()) << text;
}

TEST(AcpCompactUpdate, ReadsTheCommonShapesAsTheParserDoes) {
  const std::vector<std::string> frames = {
      frame("ses_1",
            R"({"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"x"}})"),
      frame("ses_1", R"({"content":{"text":"a\"b\\c\nd\re\tf\bg\fh","type":"text"},)"
                     R"("sessionUpdate":"agent_thought_chunk"})"),
      frame("", R"({"sessionUpdate":"plan","entries":[{"content":"é中😀","priority":"high"}]})"),
      frame("s",
            R"({"sessionUpdate":"tool_call","toolCallId":"t1","n":[0,-1,123456789012345678,)"
            R"(-123456789012345678,true,false,null,{},[],[[{}]]],"rawInput":{"a":{"b":"c"}}})"),
      frame("s", R"({"sessionUpdate":"tool_call_update","usage":{"inputTokens":3},"delta":"d\tq",)"
                 R"("ts":1,"seq":9,"run_id":"x","run_label":"l","runtime_id":"r","event":"e",)"
                 R"("session_id":"y","session_update":"z","status":"completed"})"),
      frame("s", R"({"sessionUpdate":"agent_message_chunk","content":{"text":"a","text":"b"}})"),
      frame("s",
            R"({"sessionUpdate":"agent_message_chunk","content":{"text":1,"x":{"text":"no"}}})"),
      frame("s",
            R"({"sessionUpdate":"agent_message_chunk","content":[{"text":"no"}],"usage":[1]})"),
      frame("s", R"({"sessionUpdate":"user_message_chunk","delta":5})"),
  };
  CompactUpdateReader reader;
  for (const std::string& f : frames) {
    EXPECT_TRUE(reader.read(f)) << f;  // the fast path is really taken
    expect_same_event(f);
  }
}

TEST(AcpCompactUpdate, LeavesNonCanonicalTextToTheParser) {
  const std::vector<std::string> frames = {
      frame("s", R"({"sessionUpdate":"plan","t":"\u0041"})"),
      frame("s", R"({"sessionUpdate":"plan","t":"a\/b"})"),
      frame("s", R"({"sessionUpdate":"plan","t":"\ud83d"})"),
      frame("s", R"({"sessionUpdate":"plan","n":1.0})"),
      frame("s", R"({"sessionUpdate":"plan","n":1e3})"),
      frame("s", R"({"sessionUpdate":"plan","n":-0})"),
      frame("s", R"({"sessionUpdate":"plan","n":1234567890123456789})"),
      frame("s", R"({"sessionUpdate":"plan","n":18446744073709551615})"),
      frame("s", R"({"sessionUpdate":"plan","n":1e400})"),
      frame("s", R"({"sessionUpdate":"plan", "a":1})"),
      frame("s", R"({"sessionUpdate":"plan","a":1,"a":2})"),
      frame("s", R"({"sessionUpdate":"plan","k\"ey":1})"),
      frame("s\\n", R"({"sessionUpdate":"plan"})"),
      frame("s", R"({"sessionUpdate":"pl\u0061n"})"),
      frame("s",
            R"({"sessionUpdate":"plan","d":)" + std::string(20, '[') + std::string(20, ']') + "}"),
      frame("s", "{\"sessionUpdate\":\"plan\",\"t\":\"\xff\"}"),
      frame("s", "{\"sessionUpdate\":\"plan\",\"t\":\"\xed\xa0\x80\"}"),  // a surrogate
      frame("s", R"({"a":1})"),
      frame("s", R"({})"),
      frame("s", R"({"sessionUpdate":"plan"})") + " ",
      R"({"jsonrpc":"2.0","method":"session/update","params":{"update":{"sessionUpdate":"plan"},"sessionId":"s"}})",
  };
  CompactUpdateReader reader;
  for (const std::string& f : frames) {
    EXPECT_FALSE(reader.read(f)) << f;
    expect_same_event(f);
  }
}

// Random damage to canonical frames: whatever the reader still accepts must
// give the parser's event, byte for byte.
TEST(AcpCompactUpdate, MutatedFramesNeverDiffer) {
  const std::vector<std::string> seeds = {
      frame(
          "ses_1",
          R"({"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"hello world"}})"),
      frame(
          "s",
          R"({"sessionUpdate":"tool_call","n":[0,-12,true,null],"o":{"k":"v\n"},"usage":{"a":1}})"),
      frame("s", R"({"sessionUpdate":"user_message_chunk","delta":"é\"x"})"),
  };
  const std::string alphabet = "{}[]\",:\\/-0123456789.eEtrufalsn \t\n\x01\x7f\x80\xc3\xa9\xff";
  std::mt19937 rng(15);
  CompactUpdateReader reader;
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string f = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % (f.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          if (at < f.size()) f[at] = c;
          break;
        case 1:
          f.insert(at, 1, c);
          break;
        default:
          if (at < f.size()) f.erase(at, 1);
      }
    }
    if (reader.read(f)) ++accepted;
    expect_same_event(f);
    if (HasFailure()) return;
  }
  EXPECT_GT(accepted, 100);  // the mutations did exercise the fast path
}

}  // namespace
