// Reading a run's NDJSON event log for avenor_events / avenor_result
// (control.md §11.3).
#include "mcp/event_log.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "../host/test_support.hpp"
#include "mcp/tool_args.hpp"

namespace avenor::host::mcp {
namespace {

namespace json = boost::json;
using test::TempDir;
using test::write_file;

// The `seq` of each event.
std::vector<std::int64_t> seqs(const json::array& events) {
  std::vector<std::int64_t> out;
  for (const auto& e : events) out.push_back(e.at("seq").as_int64());
  return out;
}

std::string line(const json::object& o) { return json::serialize(o) + "\n"; }

class McpEventLog : public ::testing::Test {
 protected:
  std::string path(const char* name = "run.log") const { return (dir_ / name).string(); }
  TempDir dir_;
};

const char* const kLog = R"({"event":"session.start","seq":1})"
                         "\n"
                         R"({"event":"message","seq":2})"
                         "\n"
                         R"({"type":"tool.call","seq":3})"
                         "\n"
                         R"({"event":"message","seq":4})"
                         "\n"
                         R"({"event":"permission.request","type":"message","seq":5})"
                         "\n"
                         R"({"event":"session.end","seq":6,"final_output":"bye"})"
                         "\n";

TEST_F(McpEventLog, AllEventsInFileOrder) {
  write_file(path(), kLog);
  EXPECT_EQ(seqs(last_events(path(), {}, 50)), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST_F(McpEventLog, TypesMatchEventOrType) {
  write_file(path(), kLog);
  EXPECT_EQ(seqs(last_events(path(), {"message"}, 50)), (std::vector<std::int64_t>{2, 4, 5}));
  EXPECT_EQ(seqs(last_events(path(), {"tool.call"}, 50)), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(seqs(last_events(path(), {"tool.call", "session.end"}, 50)),
            (std::vector<std::int64_t>{3, 6}));
  EXPECT_TRUE(last_events(path(), {"nothing"}, 50).empty());
  // Exact matches only.
  EXPECT_TRUE(last_events(path(), {"session"}, 50).empty());
  EXPECT_TRUE(last_events(path(), {"MESSAGE"}, 50).empty());
}

TEST_F(McpEventLog, LimitKeepsTheLastNInFileOrder) {
  write_file(path(), kLog);
  EXPECT_EQ(seqs(last_events(path(), {}, 2)), (std::vector<std::int64_t>{5, 6}));
  EXPECT_EQ(seqs(last_events(path(), {"message"}, 2)), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(seqs(last_events(path(), {}, 1)), (std::vector<std::int64_t>{6}));
  EXPECT_EQ(seqs(last_events(path(), {}, 100)).size(), 6u);
}

TEST_F(McpEventLog, BadLinesAreSkipped) {
  write_file(path(),
             "not json\n"
             R"({"event":"a","seq":1})"
             "\n"
             "[1,2,3]\n"
             "\"a string\"\n"
             "\n"
             R"({"event":"b","seq":2)"
             "\n"
             R"({"event":"c","seq":3})"
             "\r\n");
  EXPECT_EQ(seqs(last_events(path(), {}, 50)), (std::vector<std::int64_t>{1, 3}));
}

TEST_F(McpEventLog, PartialLastLineIsIgnored) {
  write_file(path(), R"({"event":"a","seq":1})"
                     "\n"
                     R"({"event":"b","seq":2})");  // still being written: no newline yet
  EXPECT_EQ(seqs(last_events(path(), {}, 50)), (std::vector<std::int64_t>{1}));
}

TEST_F(McpEventLog, LineOverOneMiBFailsTheCall) {
  const std::string big = R"({"event":"big","pad":")" + std::string(kMaxEventLine, 'x') + "\"}\n";
  write_file(path(), R"({"event":"a","seq":1})"
                     "\n" +
                         big + R"({"event":"c","seq":3})" + "\n");
  EXPECT_THROW(last_events(path(), {}, 50), ToolError);
  try {
    last_events(path(), {}, 50);
  } catch (const ToolError& e) {
    EXPECT_NE(std::string(e.what()).find("over 1 MiB"), std::string::npos) << e.what();
  }
  // avenor_result's reader gives no output rather than failing.
  EXPECT_EQ(last_session_end(path()), std::nullopt);
}

TEST_F(McpEventLog, ATornLastLineIsIncompleteWhateverItsLength) {
  // A writer killed mid-line leaves it without '\n': not an event yet, and
  // no reason to fail the call even when it is already over 1 MiB.
  write_file(path(), R"({"event":"a","seq":1})"
                     "\n" +
                         std::string(R"({"event":"big","pad":")") +
                         std::string(2 * kMaxEventLine, 'x'));
  EXPECT_EQ(seqs(last_events(path(), {}, 50)), (std::vector<std::int64_t>{1}));
}

TEST_F(McpEventLog, LineOfExactlyOneMiBIsRead) {
  std::string one = R"({"event":"big","seq":1,"pad":")";
  one += std::string(kMaxEventLine - one.size() - 2, 'x') + "\"}";
  ASSERT_EQ(one.size(), kMaxEventLine);
  write_file(path(), one + "\n" + R"({"event":"c","seq":2})" + "\n");
  EXPECT_EQ(seqs(last_events(path(), {}, 50)), (std::vector<std::int64_t>{1, 2}));
}

TEST_F(McpEventLog, MissingLogIsEmpty) {
  EXPECT_TRUE(last_events(path("missing.log"), {}, 50).empty());
  EXPECT_EQ(last_session_end(path("missing.log")), std::nullopt);
  write_file(path(), "");
  EXPECT_TRUE(last_events(path(), {}, 50).empty());
}

TEST_F(McpEventLog, FifoFailsWithoutBlocking) {
  const std::string fifo = path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // In a child with an alarm: an open or read that blocked on the
  // writerless FIFO would be killed by SIGALRM instead of hanging the suite.
  EXPECT_EXIT(
      {
        ::alarm(5);
        int code = 1;
        try {
          last_events(fifo, {}, 50);
        } catch (const ToolError&) {
          code = last_session_end(fifo) ? 3 : 0;
        }
        std::_Exit(code);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(McpEventLog, DirectoryAndSymlinkFail) {
  std::filesystem::create_directory(dir_ / "d");
  EXPECT_THROW(last_events(path("d"), {}, 50), ToolError);
  write_file(path(), kLog);
  ASSERT_EQ(::symlink(path().c_str(), path("link").c_str()), 0);
  EXPECT_THROW(last_events(path("link"), {}, 50), ToolError);
}

TEST_F(McpEventLog, FinalOutputIsCutTo4096Runes) {
  // 5000 runes of two bytes each: the cut must fall on a rune boundary.
  std::string long_text;
  for (int i = 0; i < 5000; ++i) long_text += "\xC3\xA9";  // é
  std::string exact;
  for (int i = 0; i < 4096; ++i) exact += "\xC3\xA9";
  write_file(path(), line({{"event", "session.end"}, {"seq", 1}, {"final_output", long_text}}) +
                         line({{"event", "session.end"}, {"seq", 2}, {"final_output", exact}}) +
                         line({{"event", "message"}, {"seq", 3}, {"final_output", "short"}}));
  const json::array events = last_events(path(), {}, 50);
  ASSERT_EQ(events.size(), 3u);
  const json::object& cut = events[0].as_object();
  EXPECT_EQ(cut.at("final_output").as_string().size(), 4096u * 2);
  EXPECT_EQ(std::string(cut.at("final_output").as_string()), exact);
  EXPECT_EQ(cut.at("final_output_truncated"), true);
  const json::object& whole = events[1].as_object();
  EXPECT_EQ(std::string(whole.at("final_output").as_string()), exact);
  EXPECT_FALSE(whole.contains("final_output_truncated"));
  EXPECT_EQ(events[2].at("final_output"), "short");
  EXPECT_FALSE(events[2].as_object().contains("final_output_truncated"));

  // last_session_end gives the output as written.
  const std::optional<json::object> end = last_session_end(path());
  ASSERT_TRUE(end);
  EXPECT_EQ(end->at("seq"), 2);
}

TEST_F(McpEventLog, LastSessionEndPicksTheLastOne) {
  write_file(
      path(),
      line({{"event", "session.end"}, {"seq", 1}, {"final_output", "first"}}) +
          line({{"event", "message"}, {"seq", 2}, {"text", "\"session.end\""}}) +
          line({{"event", "session.end"}, {"seq", 3}, {"final_output", "second"}}) +
          line({{"type", "session.end"}, {"seq", 4}, {"final_output", "a type, not event"}}) +
          line({{"event", "message"}, {"seq", 5}}) +
          R"({"event":"session.end","seq":6,"final_output":"partial"})");
  const std::optional<json::object> end = last_session_end(path());
  ASSERT_TRUE(end);
  EXPECT_EQ(end->at("seq"), 3);
  EXPECT_EQ(end->at("final_output"), "second");

  write_file(path(), line({{"event", "message"}, {"seq", 1}}));
  EXPECT_EQ(last_session_end(path()), std::nullopt);
}

TEST_F(McpEventLog, ReadsAfterTheFileGrows) {
  write_file(path(), line({{"event", "a"}, {"seq", 1}}));
  EXPECT_EQ(seqs(last_events(path(), {}, 50)), (std::vector<std::int64_t>{1}));
  {
    std::ofstream out(path(), std::ios::app);
    out << line({{"event", "b"}, {"seq", 2}});
  }
  EXPECT_EQ(seqs(last_events(path(), {}, 50)), (std::vector<std::int64_t>{1, 2}));
}

}  // namespace
}  // namespace avenor::host::mcp
