// Plain format (events.md §8.3): every row of the excerpt table, the number
// forms, <nil>, and the cleaning (collapse, 120-rune cut, right trim).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "watch/plain_formatter.hpp"
#include "watch/text_clean.hpp"
#include "watch/value_text.hpp"

namespace avenor::host::watch {
namespace {

namespace bj = boost::json;

std::string plain(const std::string& json, bool classify = false) {
  const bj::value v = bj::parse(json);
  auto line = format_plain_line(v.as_object(), classify);
  return line ? *line : "<none>";
}

std::string text_of(const std::string& json) {
  const bj::value v = bj::parse(json);
  return value_text(&v);
}

TEST(WatchExcerpt, ChunkEventsUseContentTextElseDelta) {
  EXPECT_EQ(
      plain(
          R"({"event":"agent.message_chunk","session_id":"s1","content":{"type":"text","text":"hi"},"delta":"d"})"),
      "EVENT agent.message_chunk s1 hi");
  EXPECT_EQ(
      plain(
          R"({"event":"agent.thought_chunk","session_id":"s1","content":{"text":""},"delta":"dd"})"),
      "EVENT agent.thought_chunk s1 dd");
  EXPECT_EQ(plain(R"({"event":"user.message_chunk","session_id":"s1","delta":"only delta"})"),
            "EVENT user.message_chunk s1 only delta");
  EXPECT_EQ(plain(R"({"event":"user.message_chunk","session_id":"s1","content":[{"text":"no"}]})"),
            "EVENT user.message_chunk s1 ");
  EXPECT_EQ(plain(R"({"event":"agent.message_chunk","session_id":"s1","content":{"text":5}})"),
            "EVENT agent.message_chunk s1 ");
}

TEST(WatchExcerpt, AgentStatus) {
  EXPECT_EQ(plain(R"({"event":"agent.status","session_id":"s","phase":"working"})"),
            "EVENT agent.status s working");
  EXPECT_EQ(
      plain(R"({"event":"agent.status","session_id":"s","phase":"working","label":"go test"})"),
      "EVENT agent.status s working | go test");
  EXPECT_EQ(plain(R"({"event":"agent.status","label":"x"})"), "EVENT agent.status   | x");
}

TEST(WatchExcerpt, ToolCalls) {
  EXPECT_EQ(
      plain(
          R"({"event":"tool.call","session_id":"s","kind":"execute","title":"ls","status":"pending"})"),
      "EVENT tool.call s execute:ls [pending]");
  EXPECT_EQ(plain(R"({"event":"tool.call_update","session_id":"s","kind":"edit"})"),
            "EVENT tool.call_update s edit");
  EXPECT_EQ(plain(R"({"event":"tool.call_update","session_id":"s","title":"build"})"),
            "EVENT tool.call_update s build");
  EXPECT_EQ(plain(R"({"event":"tool.call_update","session_id":"s","status":"completed"})"),
            "EVENT tool.call_update s  [completed]");
  EXPECT_EQ(plain(R"({"event":"tool.call","session_id":"s"})"), "EVENT tool.call s ");
}

TEST(WatchExcerpt, PermissionRequestShowsWhatIsAskedTheOptionsAndTheId) {
  // ACP: the title is toolCall.title.
  EXPECT_EQ(plain(R"({"event":"permission.request","session_id":"s","request_id":"perm-1",)"
                  R"("toolCall":{"toolCallId":"c1","title":"Run git status","kind":"execute"},)"
                  R"("options":[{"optionId":"once","name":"Allow once","kind":"allow_once"},)"
                  R"({"optionId":"reject","name":"Reject","kind":"reject_once"}]})"),
            "EVENT permission.request s Run git status [once=allow_once, reject=reject_once] "
            "(request perm-1)");
  // codex: the command.
  EXPECT_EQ(plain(R"({"event":"permission.request","session_id":"t","request_id":"0",)"
                  R"("tool":"item/commandExecution/requestApproval","command":"ls -la",)"
                  R"("options":[{"optionId":"allow","kind":"allow"},{"optionId":"reject"}]})"),
            "EVENT permission.request t ls -la [allow=allow, reject] (request 0)");
  // The title is cut and collapsed, the options and the id are not cut.
  const std::string long_title(200, 'x');
  EXPECT_EQ(plain(R"({"event":"permission.request","session_id":"s","request_id":"r9",)"
                  R"("question":")" +
                  long_title + R"(\nmore","options":[{"optionId":"yes","kind":"allow"}]})"),
            "EVENT permission.request s " + std::string(80, 'x') + " [yes=allow] (request r9)");
}

TEST(WatchExcerpt, PermissionPlanAndSessionEnd) {
  EXPECT_EQ(
      plain(R"({"event":"permission.request","session_id":"s","question":"Run?","tool":"bash"})"),
      "EVENT permission.request s Run?");
  EXPECT_EQ(plain(R"({"event":"permission.request","session_id":"s","question":"","tool":"bash"})"),
            "EVENT permission.request s bash");
  EXPECT_EQ(plain(R"({"event":"session.plan","session_id":"s","label":"L","title":"T"})"),
            "EVENT session.plan s L");
  EXPECT_EQ(plain(R"({"event":"session.plan","session_id":"s","title":"T"})"),
            "EVENT session.plan s T");
  EXPECT_EQ(plain(R"({"event":"session.end","session_id":"s","stop_reason":"end_turn"})"),
            "EVENT session.end s stop_reason=end_turn");
  EXPECT_EQ(plain(R"({"event":"session.end","session_id":"s"})"),
            "EVENT session.end s stop_reason=");
}

TEST(WatchExcerpt, LoopRows) {
  EXPECT_EQ(plain(R"({"event":"avenor.loop.start","max_iterations":5})"),
            "EVENT avenor.loop.start  loop start, max_iterations=5");
  EXPECT_EQ(plain(R"({"event":"avenor.loop.start"})"),
            "EVENT avenor.loop.start  loop start, max_iterations=<nil>");
  EXPECT_EQ(
      plain(R"({"event":"avenor.phase.start","session_id":"s","phase":"build","iteration":2})"),
      "EVENT avenor.phase.start s phase: build (iter 2)");
  EXPECT_EQ(plain(R"({"event":"avenor.phase.start","phase":"pre"})"),
            "EVENT avenor.phase.start  phase: pre (iter <nil>)");
  EXPECT_EQ(plain(R"({"event":"avenor.phase.end","phase":"build","stop_reason":"end_turn"})"),
            "EVENT avenor.phase.end  phase: build \u2192 end_turn");
  EXPECT_EQ(plain(R"({"event":"avenor.loop.end","exit_reason":"max_iterations"})"),
            "EVENT avenor.loop.end  loop end: max_iterations");
  EXPECT_EQ(plain(R"({"event":"avenor.loop.end"})"), "EVENT avenor.loop.end  loop end: <nil>");
}

TEST(WatchExcerpt, RetryAndError) {
  EXPECT_EQ(plain(R"({"event":"avenor.retry","session_id":"s","attempt":2,"max_retries":3})"),
            "EVENT avenor.retry s attempt=2/3");
  EXPECT_EQ(plain(R"({"event":"avenor.retry","attempt":2})"),
            "EVENT avenor.retry  attempt=2/<nil>");
  EXPECT_EQ(plain(R"({"event":"avenor.retry","max_retries":3})"), "EVENT avenor.retry  retrying");
  EXPECT_EQ(plain(R"({"event":"avenor.error","source":"backend","message":"boom"})"),
            "EVENT avenor.error  backend: boom");
  EXPECT_EQ(plain(R"({"event":"avenor.error","source":"cancel"})"), "EVENT avenor.error  cancel");
}

TEST(WatchExcerpt, OtherEventsHaveAnEmptyExcerptWithTrailingSpace) {
  EXPECT_EQ(plain(R"({"event":"x"})"), "EVENT x  ");
  EXPECT_EQ(plain(R"({"event":"avenor.parked","session_id":"s","timeout_ms":0})"),
            "EVENT avenor.parked s ");
}

TEST(WatchExcerpt, SessionFallsBackToSessionID) {
  EXPECT_EQ(plain(R"({"event":"x","sessionID":"legacy"})"), "EVENT x legacy ");
  EXPECT_EQ(plain(R"({"event":"x","session_id":"","sessionID":"legacy"})"), "EVENT x legacy ");
  EXPECT_EQ(plain(R"({"event":"x","session_id":"a","sessionID":"b"})"), "EVENT x a ");
}

TEST(WatchExcerpt, NoEventStringMeansNoOutput) {
  EXPECT_EQ(plain(R"({"type":"text"})"), "<none>");
  EXPECT_EQ(plain(R"({"event":5})"), "<none>");
  EXPECT_EQ(plain(R"({"event":""})"), "<none>");
}

TEST(WatchExcerpt, ClassifyPrefixesTheTag) {
  EXPECT_EQ(plain(R"({"event":"session.end","session_id":"s","stop_reason":"end_turn"})", true),
            "MILESTONE EVENT session.end s stop_reason=end_turn");
  EXPECT_EQ(plain(R"({"event":"x"})", true), "ACTIVITY EVENT x  ");
}

TEST(WatchExcerpt, NumbersPrintInShortestForm) {
  EXPECT_EQ(text_of("5"), "5");
  EXPECT_EQ(text_of("5.0"), "5");
  EXPECT_EQ(text_of("-3"), "-3");
  EXPECT_EQ(text_of("1.5"), "1.5");
  EXPECT_EQ(text_of("0.1"), "0.1");
  EXPECT_EQ(text_of("1e20"), "100000000000000000000");
  EXPECT_EQ(text_of("1e21"), "1e+21");
  EXPECT_EQ(text_of("1000000000000000000000"), "1e+21");
  EXPECT_EQ(text_of("2.5e22"), "2.5e+22");
  EXPECT_EQ(text_of("1e6"), "1000000");
  EXPECT_EQ(text_of("true"), "true");
  EXPECT_EQ(text_of("null"), "<nil>");
  EXPECT_EQ(value_text(nullptr), "<nil>");
  EXPECT_EQ(text_of(R"("s")"), "s");
  EXPECT_EQ(text_of(R"([1,"a",null])"), "[1 a <nil>]");
  EXPECT_EQ(text_of(R"({"b":2,"a":1.5})"), "map[a:1.5 b:2]");
}

TEST(WatchExcerpt, RunsOfLineBreaksBecomeOneSpace) {
  EXPECT_EQ(plain(R"({"event":"agent.message_chunk","session_id":"s","delta":"a\r\n\t\tb\nc\td"})"),
            "EVENT agent.message_chunk s a b c d");
  // Leading spaces are kept; trailing whitespace is trimmed.
  EXPECT_EQ(plain(R"({"event":"agent.message_chunk","session_id":"s","delta":"\n  x  \n\t"})"),
            "EVENT agent.message_chunk s    x");
  EXPECT_EQ(clean_excerpt("  lead"), "  lead");
  EXPECT_EQ(clean_excerpt("x \u00a0\u3000"), "x");
}

TEST(WatchExcerpt, CutTo120RunesThenTrimmed) {
  const std::string long_ascii(130, 'x');
  EXPECT_EQ(clean_excerpt(long_ascii), std::string(120, 'x'));
  std::string multibyte;
  for (int i = 0; i < 125; ++i) multibyte += "\u00e9";  // 2 bytes each
  std::string want;
  for (int i = 0; i < 120; ++i) want += "\u00e9";
  EXPECT_EQ(clean_excerpt(multibyte), want);
  std::string emoji;
  for (int i = 0; i < 121; ++i) emoji += "\U0001F600";  // 4 bytes each
  EXPECT_EQ(clean_excerpt(emoji).size(), 480u);
  // The cut happens before trimming: a space at rune 120 is trimmed away.
  const std::string spaced = std::string(119, 'a') + "   tail";
  EXPECT_EQ(clean_excerpt(spaced), std::string(119, 'a'));
  // A newline run counts as one rune after collapsing.
  const std::string broken = std::string(60, 'a') + "\n\n\n\n" + std::string(70, 'b');
  EXPECT_EQ(clean_excerpt(broken), std::string(60, 'a') + " " + std::string(59, 'b'));
}

TEST(WatchExcerpt, InvalidUtf8IsReplaced) {
  EXPECT_EQ(valid_utf8("ok"), "ok");
  EXPECT_EQ(valid_utf8("a\xff"
                       "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(valid_utf8("\xC3"), "\xEF\xBF\xBD");
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(WatchExcerpt, AccumulatedCleaningTrimsBothEndsAndNeverCuts) {
  EXPECT_EQ(clean_accumulated("\n  hello\tworld \r\n"), "hello world");
  EXPECT_EQ(clean_accumulated(std::string(300, 'z')).size(), 300u);
}

}  // namespace
}  // namespace avenor::host::watch
