#include "events/event_writer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "util/utf8.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;
using test::TempDir;

bj::object event(std::string_view type) { return bj::object{{"event", type}}; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(EventWriter, StampsEnvelopeOnACopy) {
  EventWriter w = EventWriter::open("");
  w.set_run_id("run-1");
  w.set_run_label("nightly");
  w.set_runtime_id("rt-7");
  const bj::object original = event("agent.message_chunk");
  const std::int64_t before = now_ms();
  bj::object s = w.write(original);
  EXPECT_EQ(original.size(), 1u);  // the emitted event is never modified
  EXPECT_EQ(s.at("event"), "agent.message_chunk");
  EXPECT_EQ(s.at("seq").as_int64(), 1);
  EXPECT_GE(s.at("ts").as_int64(), before);
  EXPECT_LE(s.at("ts").as_int64(), now_ms());
  EXPECT_EQ(s.at("run_id"), "run-1");
  EXPECT_EQ(s.at("run_label"), "nightly");
  EXPECT_EQ(s.at("runtime_id"), "rt-7");
  EXPECT_EQ(w.write(original).at("seq").as_int64(), 2);
}

TEST(EventWriter, OmitsEmptyEnvelopeValuesAndReplacesAnEventsOwn) {
  EventWriter w = EventWriter::open("");
  bj::object s = w.write(event("x"));
  EXPECT_FALSE(s.contains("run_id"));
  EXPECT_FALSE(s.contains("run_label"));
  EXPECT_FALSE(s.contains("runtime_id"));

  w.set_run_id("mine");
  w.set_runtime_id("rt");
  bj::object e = event("x");
  e["run_id"] = "theirs";
  e["runtime_id"] = "";
  e["run_label"] = "theirs too";  // the writer has none: the event's goes
  s = w.write(e);
  EXPECT_EQ(s.at("run_id"), "mine");  // the envelope is the host's (issue 15)
  EXPECT_EQ(s.at("runtime_id"), "rt");
  EXPECT_FALSE(s.contains("run_label"));
}

TEST(EventWriter, SessionIdOmittedWhenEmpty) {
  EventWriter w = EventWriter::open("");
  bj::object e = event("x");
  e["session_id"] = "";
  EXPECT_FALSE(w.write(e).contains("session_id"));
  e["session_id"] = "ses_1";
  EXPECT_EQ(w.write(e).at("session_id"), "ses_1");
}

TEST(EventWriter, TsIsAlwaysTheWritersClock) {
  EventWriter w = EventWriter::open("");
  const std::int64_t before = now_ms();
  for (bj::value ts : {bj::value(1234), bj::value(1234.5), bj::value(std::uint64_t{99}),
                       bj::value("1234"), bj::value(nullptr)}) {
    bj::object e = event("x");
    e["ts"] = ts;
    const bj::object s = w.write(e);
    EXPECT_TRUE(s.at("ts").is_int64()) << bj::serialize(ts);
    EXPECT_GE(s.at("ts").as_int64(), before) << bj::serialize(ts);
  }
}

TEST(EventWriter, SeqIsAlwaysTheWritersCounter) {
  // A backend (or a control client) cannot set seq: INT64_MAX once made the
  // counter overflow and readers lose every later event (issue 15).
  EventWriter w = EventWriter::open("");
  EXPECT_EQ(w.write(event("a")).at("seq").as_int64(), 1);
  std::int64_t expected = 2;
  for (bj::value seq : {bj::value(10), bj::value(std::numeric_limits<std::int64_t>::max()),
                        bj::value(std::numeric_limits<std::uint64_t>::max()), bj::value(3),
                        bj::value(20.0), bj::value(1e300), bj::value("99"), bj::value(-5)}) {
    bj::object e = event("b");
    e["seq"] = seq;
    EXPECT_EQ(w.write(e).at("seq").as_int64(), expected++) << bj::serialize(seq);
  }
  EXPECT_EQ(w.write(event("c")).at("seq").as_int64(), expected);
  EXPECT_EQ(w.last_seq(), expected);
}

TEST(EventWriter, EnvelopeKeysComeLastInTheirOrder) {
  EventWriter w = EventWriter::open("");
  w.set_run_id("r");
  w.set_run_label("l");
  w.set_runtime_id("rt");
  bj::object e{{"seq", 5}, {"event", "x"}, {"ts", 1}, {"run_id", "z"}, {"n", 1}};
  std::vector<std::string> keys;
  for (const auto& m : w.write(e)) keys.emplace_back(m.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"event", "n", "ts", "seq", "run_id", "run_label",
                                            "runtime_id"}));
}

TEST(EventWriter, WritesOneCompactLinePerEvent) {
  TempDir dir;
  const auto path = dir / "events.ndjson";
  {
    EventWriter w = EventWriter::open(path);
    w.set_run_id("r");
    bj::object e = event("agent.message_chunk");
    e["content"] = bj::object{{"type", "text"}, {"text", "line1\nline2 <|status: done|>"}};
    e["int"] = 3;
    e["float"] = 1.5;
    e["integral_float"] = 3.0;
    e["tiny"] = 1e-7;
    e["big"] = std::uint64_t{18446744073709551615u};
    w.write(e);
    w.write(event("session.end"));
    w.write(event("avenor.retry"));
  }
  const std::string text = test::read_file(path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& line : lines) EXPECT_NO_THROW((void)bj::parse(line)) << line;
  EXPECT_EQ(lines[1].find(' '), std::string::npos) << lines[1];  // compact: no whitespace
  EXPECT_EQ(lines[2].find(' '), std::string::npos) << lines[2];
  EXPECT_NE(lines[0].find("\"int\":3,"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"float\":1.5,"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"integral_float\":3,"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"tiny\":1e-7,"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"big\":18446744073709551615,"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"text\":\"line1\\nline2 <|status: done|>\""), std::string::npos);
  EXPECT_EQ(bj::parse(lines[1]).at("event"), "session.end");
  EXPECT_EQ(bj::parse(lines[2]).at("seq").as_int64(), 3);
}

TEST(EventWriter, TruncatesExistingLog) {
  TempDir dir;
  const auto path = dir / "events.ndjson";
  test::write_file(path, std::string(10000, 'x') + "\n");
  EventWriter w = EventWriter::open(path);
  EXPECT_EQ(test::read_file(path), "");
  w.write(event("a"));
  w.close();
  EXPECT_EQ(lines_of(test::read_file(path)).size(), 1u);
  EXPECT_THROW(w.write(event("b")), std::system_error);
}

TEST(EventWriter, CreatesWithDefaultModeLessUmask) {
  TempDir dir;
  const auto path = dir / "events.ndjson";
  const mode_t old = ::umask(027);
  { EventWriter w = EventWriter::open(path); }
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(EventWriter, DiscardWriterStillEncodes) {
  EventWriter w = EventWriter::open("");
  EXPECT_TRUE(w.discards());
  EXPECT_EQ(w.write(event("session.end")).at("seq").as_int64(), 1);
  EXPECT_NO_THROW(w.sync());
  EXPECT_NO_THROW(w.close());
}

TEST(EventWriter, OpenFailureCarriesOsMessage) {
  TempDir dir;
  const auto path = dir / "missing" / "events.ndjson";
  try {
    EventWriter::open(path);
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(std::string(e.what()), "open " + path.string() + ": No such file or directory");
  }
}

TEST(EventWriter, WriteFailureThrows) {
  // /dev/full accepts the open and fails every write with ENOSPC.
  EventWriter w = EventWriter::open("/dev/full");
  try {
    w.write(event("a"));
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_space_on_device);
  }
}

TEST(EventWriter, AppendSplicesTheEnvelopeOntoTheBytes) {
  TempDir dir;
  const auto path = dir / "events.ndjson";
  EventWriter w = EventWriter::open(path);
  w.set_run_id("r");
  w.set_run_label("l");
  w.set_runtime_id("rt");
  const std::string line(w.append(R"({"event":"a","n":1})", "a"));
  const bj::object parsed = bj::parse(line).as_object();
  EXPECT_EQ(line.rfind(R"({"event":"a","n":1,"ts":)", 0), 0u) << line;
  EXPECT_NE(line.find(R"(,"seq":1,"run_id":"r","run_label":"l","runtime_id":"rt"})"),
            std::string::npos)
      << line;
  EXPECT_GE(parsed.at("ts").as_int64(), now_ms() - 60000);
  EXPECT_EQ(std::string(w.append("{}", "b")).rfind(R"({"ts":)", 0), 0u);  // no stray comma
  EXPECT_EQ(w.last_seq(), 2);
  // Buffered until flushed, and then written as whole lines.
  EXPECT_EQ(test::read_file(path), "");
  EXPECT_GT(w.buffered(), 0u);
  w.flush();
  EXPECT_EQ(w.buffered(), 0u);
  const auto lines = lines_of(test::read_file(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], line);
}

TEST(EventWriter, AnObjectWriteTakesTheBufferedLinesAlongInOrder) {
  TempDir dir;
  const auto path = dir / "events.ndjson";
  EventWriter w = EventWriter::open(path);
  w.append(R"({"event":"a"})", "a");
  w.append(R"({"event":"b"})", "b");
  w.write(event("c"));
  const auto lines = lines_of(test::read_file(path));
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const bj::object e = bj::parse(lines[i]).as_object();
    EXPECT_EQ(e.at("event").as_string(), std::string(1, static_cast<char>('a' + i)));
    EXPECT_EQ(e.at("seq").as_int64(), static_cast<std::int64_t>(i + 1));
  }
}

TEST(EventWriter, AnAppendedSessionEndIsWrittenAtOnce) {
  TempDir dir;
  const auto path = dir / "events.ndjson";
  EventWriter w = EventWriter::open(path);
  w.append(R"({"event":"a"})", "a");
  const std::string end(w.append(R"({"event":"session.end"})", "session.end"));
  EXPECT_EQ(bj::parse(end).at("seq").as_int64(), 2);
  EXPECT_EQ(w.buffered(), 0u);
  EXPECT_EQ(lines_of(test::read_file(path)).size(), 2u);
}

TEST(EventWriter, DestructorWritesWhatIsBuffered) {
  TempDir dir;
  const auto path = dir / "events.ndjson";
  { EventWriter::open(path).append(R"({"event":"a"})", "a"); }
  EXPECT_EQ(lines_of(test::read_file(path)).size(), 1u);
}

TEST(EventWriter, DiscardWriterAppendStillStamps) {
  EventWriter w = EventWriter::open("");
  EXPECT_EQ(bj::parse(w.append(R"({"event":"a"})", "a")).at("seq").as_int64(), 1);
  EXPECT_EQ(w.buffered(), 0u);
  EXPECT_NO_THROW(w.flush());
}

TEST(EventWriter, FailedBatchThrowsAndIsDropped) {
  EventWriter w = EventWriter::open("/dev/full");
  w.append(R"({"event":"a"})", "a");
  EXPECT_THROW(w.flush(), std::system_error);
  EXPECT_EQ(w.buffered(), 0u);
}

TEST(EventWriter, TheLogIsValidUtf8WhateverTheEventHolds) {
  // The last line of defence (issue 15): an avenor.error quoting a bad frame
  // must not put invalid UTF-8 into the log.
  TempDir dir;
  const auto path = dir / "events.ndjson";
  {
    EventWriter w = EventWriter::open(path);
    bj::object e = event("avenor.error");
    e["message"] = std::string("bad frame: \xff\xfe{\"a\":\"\xed\xa0\x80\"} \xc3");
    e["inf"] = std::numeric_limits<double>::infinity();
    w.write(e);
  }
  const std::string text = test::read_file(path);
  EXPECT_TRUE(is_valid_utf8(text)) << text;
  const bj::object logged = bj::parse(lines_of(text).at(0)).as_object();
  EXPECT_EQ(logged.at("message"),
            "bad frame: \xEF\xBF\xBD\xEF\xBF\xBD{\"a\":\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"} "
            "\xEF\xBF\xBD");
  EXPECT_TRUE(logged.at("inf").is_null());
}

TEST(EventWriter, MovableNotCopyable) {
  static_assert(!std::is_copy_constructible_v<EventWriter>);
  static_assert(!std::is_copy_assignable_v<EventWriter>);
  static_assert(std::is_move_constructible_v<EventWriter>);
}

}  // namespace
}  // namespace avenor::host
