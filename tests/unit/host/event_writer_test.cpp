#include "events/event_writer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>

#include "test_support.hpp"

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

TEST(EventWriter, OmitsEmptyEnvelopeValuesAndKeepsExistingOnes) {
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
  s = w.write(e);
  EXPECT_EQ(s.at("run_id"), "theirs");
  EXPECT_EQ(s.at("runtime_id"), "");  // present, so not "missing"
}

TEST(EventWriter, SessionIdOmittedWhenEmpty) {
  EventWriter w = EventWriter::open("");
  bj::object e = event("x");
  e["session_id"] = "";
  EXPECT_FALSE(w.write(e).contains("session_id"));
  e["session_id"] = "ses_1";
  EXPECT_EQ(w.write(e).at("session_id"), "ses_1");
}

TEST(EventWriter, NumericTsKeptOtherwiseReplaced) {
  EventWriter w = EventWriter::open("");
  bj::object e = event("x");
  e["ts"] = 1234;
  EXPECT_EQ(w.write(e).at("ts").as_int64(), 1234);
  e["ts"] = 1234.5;
  EXPECT_EQ(w.write(e).at("ts").as_double(), 1234.5);
  e["ts"] = std::uint64_t{99};
  EXPECT_EQ(w.write(e).at("ts").as_uint64(), 99u);
  const std::int64_t before = now_ms();
  e["ts"] = "1234";
  EXPECT_GE(w.write(e).at("ts").as_int64(), before);
  e["ts"] = nullptr;
  EXPECT_GE(w.write(e).at("ts").as_int64(), before);
}

TEST(EventWriter, ExistingNumericSeqKeptAndRaisesCounter) {
  EventWriter w = EventWriter::open("");
  EXPECT_EQ(w.write(event("a")).at("seq").as_int64(), 1);
  bj::object e = event("b");
  e["seq"] = 10;
  EXPECT_EQ(w.write(e).at("seq").as_int64(), 10);
  EXPECT_EQ(w.write(event("c")).at("seq").as_int64(), 11);
  e["seq"] = 3;  // lower: kept, counter unchanged
  EXPECT_EQ(w.write(e).at("seq").as_int64(), 3);
  EXPECT_EQ(w.write(event("d")).at("seq").as_int64(), 12);
  e["seq"] = 20.0;
  EXPECT_EQ(w.write(e).at("seq").as_double(), 20.0);
  EXPECT_EQ(w.write(event("e")).at("seq").as_int64(), 21);
  e["seq"] = "99";  // not numeric: replaced
  EXPECT_EQ(w.write(e).at("seq").as_int64(), 22);
  EXPECT_EQ(w.last_seq(), 22);
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

TEST(EventWriter, MovableNotCopyable) {
  static_assert(!std::is_copy_constructible_v<EventWriter>);
  static_assert(!std::is_copy_assignable_v<EventWriter>);
  static_assert(std::is_move_constructible_v<EventWriter>);
}

}  // namespace
}  // namespace avenor::host
