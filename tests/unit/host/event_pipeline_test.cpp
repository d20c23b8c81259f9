// The event path from a plugin's serialised event to the log and the control
// subscribers (issue 15, "Performance"): batched whole-line writes, one order
// for everything, nothing published before it is logged.
#include "events/event_pipeline.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "events/backend_event.hpp"
#include "test_support.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;
using test::TempDir;

std::vector<bj::object> logged(const std::filesystem::path& path) {
  std::vector<bj::object> out;
  std::string text = test::read_file(path);
  std::size_t start = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    out.push_back(bj::parse(std::string_view(text).substr(start, nl - start)).as_object());
    start = nl + 1;
  }
  EXPECT_EQ(start, text.size()) << "a line without its newline";
  return out;
}

BackendEvent chunk(std::string_view text) {
  const std::string body =
      R"({"event":"agent.message_chunk","session_id":"s","content":{"text":")" + std::string(text) +
      R"("}})";
  return BackendEvent::from_serialized(body, "agent.message_chunk", "s", text, false);
}

TEST(EventPipeline, SerialisedEventsWaitForTheLoopThenGoOutInOneOrder) {
  TempDir dir;
  const auto path = dir / "ev.ndjson";
  EventWriter writer = EventWriter::open(path);
  writer.set_run_id("r");
  boost::asio::io_context io;
  EventPipeline pipeline(writer);
  pipeline.set_executor(io.get_executor());
  BackendEvent a = chunk("a"), b = chunk("b");
  EXPECT_EQ(pipeline.write(a), 1);
  EXPECT_EQ(pipeline.write(b), 2);
  EXPECT_TRUE(logged(path).empty());  // batched until the loop turns to other work
  io.poll();
  auto events = logged(path);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].at("content").at("text"), "b");
  EXPECT_EQ(events[1].at("run_id"), "r");

  // An object write takes what is buffered along, before itself.
  BackendEvent c = chunk("c");
  pipeline.write(c);
  EXPECT_EQ(pipeline.write(bj::object{{"event", "agent.status"}}), 4);
  events = logged(path);
  ASSERT_EQ(events.size(), 4u);
  for (std::size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(events[i].at("seq").as_int64(), static_cast<std::int64_t>(i + 1));
}

TEST(EventPipeline, AnEventNotFromTheFastPathIsAnObjectAndWrittenAtOnce) {
  TempDir dir;
  const auto path = dir / "ev.ndjson";
  EventWriter writer = EventWriter::open(path);
  boost::asio::io_context io;
  EventPipeline pipeline(writer);
  pipeline.set_executor(io.get_executor());
  BackendEvent e = BackendEvent::from_object(
      bj::object{{"event", "x"}, {"seq", 99}, {"run_id", "evil"}, {"ts", 1}});
  EXPECT_EQ(e.type(), "x");
  EXPECT_EQ(pipeline.write(e), 1);
  const auto events = logged(path);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("seq").as_int64(), 1);
  EXPECT_FALSE(events[0].contains("run_id"));
  EXPECT_GT(events[0].at("ts").as_int64(), 1);
}

TEST(EventPipeline, AFailedBatchFailsTheNextWrite) {
  EventWriter writer = EventWriter::open("/dev/full");
  boost::asio::io_context io;
  EventPipeline pipeline(writer);
  pipeline.set_executor(io.get_executor());
  BackendEvent a = chunk("a");
  pipeline.write(a);
  io.poll();  // the posted flush fails: nobody to tell yet
  BackendEvent b = chunk("b");
  EXPECT_THROW(pipeline.write(b), std::system_error);
  EXPECT_THROW(pipeline.write(bj::object{{"event", "session.end"}}), std::system_error);
}

TEST(EventPipeline, SubscribersGetBatchedEventsOnlyOnceLoggedAndTheSnapshotAtOnce) {
  TempDir dir;
  const auto path = dir / "ev.ndjson";
  EventWriter writer = EventWriter::open(path);
  boost::asio::io_context io;
  ControlPlane control(io.get_executor(), "r", "", "token");
  auto sub = control.hub().subscribe("");
  EventPipeline pipeline(writer, &control);
  pipeline.set_executor(io.get_executor());
  BackendEvent a = chunk("a");
  pipeline.write(a);
  EXPECT_EQ(control.status().at("last_event"), "agent.message_chunk");
  EXPECT_EQ(control.status().at("latest_seq").as_int64(), 1);
  EXPECT_TRUE(sub->empty());  // not logged yet, so not published yet
  io.poll();
  ASSERT_FALSE(sub->empty());
  const SharedEvent got = sub->pop();
  EXPECT_EQ(got->at("seq").as_int64(), 1);
  EXPECT_EQ(got->at("content").at("text"), "a");

  // A type whose fields the snapshot reads takes the object path.
  BackendEvent status = BackendEvent::from_serialized(
      R"({"event":"agent.status","phase":"working","label":"l"})", "agent.status", "", "", false);
  pipeline.write(status);
  EXPECT_EQ(control.status().at("phase"), "working");
  EXPECT_FALSE(sub->empty());
}

TEST(BackendEventBody, TrustsOnlyOneLineOfValidUtf8) {
  EXPECT_TRUE(is_trusted_event_body(R"({"event":"x","t":"\u00e9 é ok"})"));
  EXPECT_TRUE(is_trusted_event_body("{}"));
  EXPECT_FALSE(is_trusted_event_body(""));
  EXPECT_FALSE(is_trusted_event_body(R"(["x"])"));
  EXPECT_FALSE(is_trusted_event_body("{\"event\":\"x\",\"t\":\"a\nb\"}"));  // a raw newline
  EXPECT_FALSE(is_trusted_event_body("{\"event\":\"x\",\"t\":\"tab\there\"}"));
  EXPECT_FALSE(is_trusted_event_body("{\"event\":\"x\",\"t\":\"\xff\"}"));
  EXPECT_FALSE(is_trusted_event_body("{\"event\":\"x\",\"t\":\"\xed\xa0\x80\"}"));
}

// The check runs sixteen bytes at a time: a bad byte is found wherever it
// sits in a long body, and DEL and valid multi-byte text still pass.
TEST(BackendEventBody, FindsABadByteAtEveryPosition) {
  const std::string good = R"({"event":"x","t":")" + std::string(70, 'a') + "\x7f\xc3\xa9" +
                           std::string(20, 'b') + "\xf0\x9f\x98\x80" + R"("})";
  ASSERT_TRUE(is_trusted_event_body(good));
  for (std::size_t at = 1; at + 1 < good.size(); ++at) {
    for (const char bad : {'\n', '\x01', '\xff', '\x80'}) {
      std::string body = good;
      if (static_cast<unsigned char>(body[at]) >= 0x80) continue;  // inside a sequence: may pair
      body[at] = bad;
      EXPECT_FALSE(is_trusted_event_body(body)) << at << " " << int(bad);
    }
  }
}

// One clock read serves a burst of lines, but never makes ts go backwards
// and never reaches past the batch: each batch reads the clock again.
TEST(EventPipeline, BatchedLinesShareAFreshTs) {
  TempDir dir;
  const auto path = dir / "ev.ndjson";
  EventWriter writer = EventWriter::open(path);
  boost::asio::io_context io;
  EventPipeline pipeline(writer);
  pipeline.set_executor(io.get_executor());
  const auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const std::int64_t before = now();
  for (int i = 0; i < 300; ++i) {
    BackendEvent e = chunk("x");
    pipeline.write(e);
  }
  io.poll();
  pipeline.write(bj::object{{"event", "agent.status"}});
  BackendEvent last = chunk("y");
  pipeline.write(last);
  pipeline.flush();
  const std::int64_t after = now();
  const auto events = logged(path);
  ASSERT_EQ(events.size(), 302u);
  std::int64_t previous = 0;
  for (const auto& e : events) {
    const std::int64_t ts = e.at("ts").as_int64();
    EXPECT_GE(ts, before);
    EXPECT_LE(ts, after);
    EXPECT_GE(ts, previous);
    previous = ts;
  }
}

TEST(BackendEventBody, ObjectIsParsedOnDemand) {
  BackendEvent e = BackendEvent::from_serialized(R"({"event":"x","n":1})", "x", "", "", false);
  EXPECT_TRUE(e.serialized());
  EXPECT_EQ(e.object().at("n").as_int64(), 1);
  EXPECT_FALSE(e.serialized());  // the object is the event from now on
  e.object()["m"] = 2;
  EXPECT_EQ(e.take_object().size(), 3u);
}

}  // namespace
}  // namespace avenor::host
