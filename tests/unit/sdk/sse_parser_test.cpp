#include <gtest/gtest.h>

#include <avenor/sdk/sse_parser.hpp>
#include <string>
#include <vector>

namespace {

using avenor::sdk::SseEvent;
using avenor::sdk::SseParser;

std::vector<std::string> data_of(const std::vector<SseEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.data);
  return out;
}

std::vector<SseEvent> feed_bytewise(SseParser& p, std::string_view input) {
  std::vector<SseEvent> all;
  for (char c : input) {
    for (auto& e : p.feed(std::string(1, c))) all.push_back(std::move(e));
  }
  return all;
}

TEST(SseParser, DataLinesUntilABlankLineMakeOneEvent) {
  SseParser p;
  auto events = p.feed("data: {\"type\":\"a\"}\n\ndata: second\n\n");
  EXPECT_EQ(data_of(events), (std::vector<std::string>{"{\"type\":\"a\"}", "second"}));
  EXPECT_EQ(events[0].type, "");
  EXPECT_EQ(events[0].id, "");
}

TEST(SseParser, NothingIsDispatchedBeforeTheBlankLine) {
  SseParser p;
  EXPECT_TRUE(p.feed("data: x\n").empty());
  EXPECT_TRUE(p.feed("data: y").empty());
  EXPECT_EQ(data_of(p.feed("\n\n")), (std::vector<std::string>{"x\ny"}));
}

TEST(SseParser, SeveralDataLinesJoinWithNewlines) {
  SseParser p;
  EXPECT_EQ(data_of(p.feed("data: a\ndata:b\ndata:  c\n\n")),
            (std::vector<std::string>{"a\nb\n c"}));  // only one leading space is removed
}

TEST(SseParser, EventAndIdFields) {
  SseParser p;
  auto events = p.feed("event: update\nid: 7\ndata: x\n\ndata: y\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "update");
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[1].type, "");  // the type is per event
  EXPECT_EQ(events[1].id, "7");   // the id persists
  EXPECT_EQ(p.last_event_id(), "7");
}

TEST(SseParser, IdWithNulIsIgnored) {
  SseParser p;
  p.feed("id: 1\n\n");
  p.feed(std::string("id: a\0b\n\n", 10));
  EXPECT_EQ(p.last_event_id(), "1");
}

TEST(SseParser, CommentsUnknownFieldsAndEmptyEventsAreSkipped) {
  SseParser p;
  auto events = p.feed(": keep-alive\n\nfoo: bar\n\nevent: lonely\n\ndata\n\n");
  // "data" without a colon is a data field with an empty value: one empty event.
  EXPECT_EQ(data_of(events), (std::vector<std::string>{""}));
  EXPECT_EQ(events[0].type, "");
}

TEST(SseParser, RetryTakesDigitsOnly) {
  SseParser p;
  EXPECT_FALSE(p.retry().has_value());
  p.feed("retry: 1500\n\nretry: 12x\n\n");
  ASSERT_TRUE(p.retry().has_value());
  EXPECT_EQ(p.retry()->count(), 1500);
}

TEST(SseParser, AllLineEndingsAndSplitCrLf) {
  SseParser p;
  EXPECT_EQ(data_of(p.feed("data: a\r\n\r\ndata: b\r\rdata: c\n\n")),
            (std::vector<std::string>{"a", "b", "c"}));
  // CR at the end of one chunk, LF at the start of the next: one line end, not two.
  EXPECT_TRUE(p.feed("data: d\r").empty());
  EXPECT_TRUE(p.feed("\ndata: e\r").empty());
  EXPECT_EQ(data_of(p.feed("\n\r\n")), (std::vector<std::string>{"d\ne"}));
}

TEST(SseParser, ByteAtATimeGivesTheSameEvents) {
  std::string input =
      "\xEF\xBB\xBF"
      "data: {\"id\":\"evt_1\",\"type\":\"server.connected\",\"properties\":{}}\r\n\r\n"
      ": ping\n"
      "event: x\nid: 9\ndata: one\ndata: two\n\n";
  SseParser whole, bytes;
  auto a = whole.feed(input);
  auto b = feed_bytewise(bytes, input);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].data, b[i].data);
    EXPECT_EQ(a[i].type, b[i].type);
    EXPECT_EQ(a[i].id, b[i].id);
  }
  EXPECT_EQ(a[0].data, "{\"id\":\"evt_1\",\"type\":\"server.connected\",\"properties\":{}}");
  EXPECT_EQ(a[1].data, "one\ntwo");
}

TEST(SseParser, LeadingBomOnlyAtStreamStart) {
  SseParser p;
  EXPECT_EQ(data_of(p.feed("\xEF\xBB\xBF"
                           "data: a\n\n")),
            (std::vector<std::string>{"a"}));
  // Later, the same bytes are part of a field name, which is then unknown.
  EXPECT_TRUE(p.feed("\xEF\xBB\xBF"
                     "data: b\n\n")
                  .empty());
}

TEST(SseParser, LineOverTheCapIsDroppedAndParsingGoesOn) {
  SseParser p(SseParser::Limits{.max_line_bytes = 16, .max_event_bytes = 1024});
  std::string huge = "data: " + std::string(40, 'x');
  auto events = p.feed(huge.substr(0, 10));
  events = p.feed(huge.substr(10) + "\ndata: ok\n\n");
  EXPECT_EQ(data_of(events), (std::vector<std::string>{"ok"}));
  EXPECT_EQ(p.dropped_lines(), 1u);
  // A line exactly at the cap is kept.
  EXPECT_EQ(data_of(p.feed("data: 0123456789\n\n")), (std::vector<std::string>{"0123456789"}));
  EXPECT_EQ(p.dropped_lines(), 1u);
}

TEST(SseParser, DefaultCapIsOneMebibyte) {
  SseParser p;
  std::string payload(std::size_t{1} << 20, 'a');  // "data: " + 1 MiB is over the cap
  EXPECT_TRUE(p.feed("data: " + payload + "\n\n").empty());
  EXPECT_EQ(p.dropped_lines(), 1u);
  std::string fits((std::size_t{1} << 20) - 6, 'b');
  auto events = p.feed("data: " + fits + "\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data.size(), fits.size());
}

TEST(SseParser, EventOverItsCapIsDropped) {
  SseParser p(SseParser::Limits{.max_line_bytes = 64, .max_event_bytes = 11});
  EXPECT_TRUE(p.feed("data: 12345\ndata: 67890\n\n").empty());
  EXPECT_EQ(p.dropped_lines(), 1u);
  EXPECT_EQ(data_of(p.feed("data: short\n\n")), (std::vector<std::string>{"short"}));
}

TEST(SseParser, ResetDiscardsPartialInputButKeepsTheLastId) {
  SseParser p;
  p.feed("id: 3\ndata: whole\n\ndata: half");
  p.reset();
  EXPECT_EQ(data_of(p.feed("\n\n")), (std::vector<std::string>{}));
  EXPECT_EQ(p.last_event_id(), "3");
  EXPECT_EQ(data_of(p.feed("data: next\n\n")), (std::vector<std::string>{"next"}));
}

}  // namespace
