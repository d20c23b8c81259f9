// watch_main end to end on files (non-follow), and the follow loop with
// --until-end driven from a second thread.
#include "commands/watch_command.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "../host/test_support.hpp"
#include "watch/watch_session.hpp"

namespace avenor::host {
namespace {

using namespace std::chrono_literals;

class WatchCommandTest : public ::testing::Test {
 protected:
  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    out_.clear();
    return watch_main(args, out_, err_);
  }
  std::string log() const { return (dir_ / "ev.ndjson").string(); }
  std::string cursor() const { return (dir_ / "cur").string(); }
  void write_log(const std::string& content) { test::write_file(log(), content); }
  void append_log(const std::string& content) {
    std::ofstream f(log(), std::ios::binary | std::ios::app);
    f << content;
  }

  test::TempDir dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(WatchCommandTest, PlainDigest) {
  write_log(R"({"event":"agent.message_chunk","session_id":"s","content":{"text":"hi"}})"
            "\n"
            R"({"event":"session.end","session_id":"s","stop_reason":"end_turn"})"
            "\n");
  ASSERT_EQ(run({log()}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "EVENT agent.message_chunk s hi\nEVENT session.end s stop_reason=end_turn\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(WatchCommandTest, MalformedLinesAreNumberedByNonEmptyLines) {
  write_log("\n{\"event\":\"a\"}\n\n   \nnot json\n\n{\"event\":\"b\"}\n{\"event\":\n");
  ASSERT_EQ(run({log()}), 0);
  EXPECT_EQ(out_.str(), "EVENT a  \nEVENT b  \n");
  // Empty lines have no number; the whitespace-only line is line 2.
  const std::string err = err_.str();
  EXPECT_NE(err.find("avenor watch: malformed event at line 3: "), std::string::npos) << err;
  EXPECT_NE(err.find("avenor watch: malformed event at line 5: "), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 2) << err;
}

TEST_F(WatchCommandTest, NonObjectJsonIsMalformedInPlainButPassedInJson) {
  write_log("[1,2]\n\"str\"\n{\"event\":\"x\"}\n");
  ASSERT_EQ(run({log()}), 0);
  EXPECT_EQ(out_.str(), "EVENT x  \n");
  EXPECT_NE(err_.str().find("line 1"), std::string::npos);
  EXPECT_NE(err_.str().find("line 2"), std::string::npos);
  ASSERT_EQ(run({"--format", "json", log()}), 0);
  EXPECT_EQ(out_.str(), "[1,2]\n\"str\"\n{\"event\":\"x\"}\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(WatchCommandTest, PartialLastLineIsLeftAndNotCountedInTheCursor) {
  const std::string complete = "{\"event\":\"a\"}\n";
  write_log(complete + "{\"event\":\"b\"");
  ASSERT_EQ(run({"--since-cursor", cursor(), log()}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "EVENT a  \n");
  EXPECT_EQ(err_.str(), "");
  EXPECT_EQ(test::read_file(cursor()), std::to_string(complete.size()) + "\n");
  append_log("}\n");
  ASSERT_EQ(run({"--since-cursor", cursor(), log()}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "EVENT b  \n");
  EXPECT_EQ(test::read_file(cursor()), std::to_string(complete.size() * 2) + "\n");
  ASSERT_EQ(run({"--since-cursor", cursor(), log()}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "");
}

TEST_F(WatchCommandTest, JsonPassthroughIsByteForByte) {
  const std::string content =
      "{ \"event\" : \"a\", \"n\": 1.50, \"u\": \"\\u003c\" }\r\n"
      "{\"no_event\":true}\n"
      "garbage\n"
      "  {\"event\":\"b\"}  \n";
  write_log(content);
  ASSERT_EQ(run({"--format=json", log()}), 0);
  EXPECT_EQ(out_.str(),
            "{ \"event\" : \"a\", \"n\": 1.50, \"u\": \"\\u003c\" }\r\n"
            "{\"no_event\":true}\n"
            "  {\"event\":\"b\"}  \n");
  EXPECT_NE(err_.str().find("malformed event at line 3"), std::string::npos);
}

TEST_F(WatchCommandTest, JsonClassifyAddsTheField) {
  write_log(
      "{\"event\":\"session.end\",\"n\":1.50,\"classify\":\"old\"}\n"
      "{\"x\":1}\n"
      "[1]\n");
  ASSERT_EQ(run({"--format", "json", "--classify", log()}), 0) << err_.str();
  std::istringstream lines(out_.str());
  std::string line;
  std::getline(lines, line);
  const auto first = boost::json::parse(line).as_object();
  EXPECT_EQ(first.at("classify"), "MILESTONE");
  EXPECT_EQ(first.at("n"), 1.5);
  EXPECT_EQ(first.size(), 3u);
  EXPECT_EQ(line.find(' '), std::string::npos) << "compact: " << line;
  std::getline(lines, line);
  EXPECT_EQ(boost::json::parse(line).as_object().at("classify"), "ACTIVITY");
  std::getline(lines, line);
  EXPECT_EQ(line, "[1]");
}

TEST_F(WatchCommandTest, AccumulateWithJsonWarnsAndIsIgnored) {
  write_log("{\"event\":\"agent.message_chunk\",\"delta\":\"a\"}\n");
  ASSERT_EQ(run({"--format", "json", "--accumulate", log()}), 0);
  EXPECT_EQ(out_.str(), "{\"event\":\"agent.message_chunk\",\"delta\":\"a\"}\n");
  EXPECT_EQ(err_.str(),
            "avenor watch: --accumulate is only supported with --format plain; ignoring\n");
}

TEST_F(WatchCommandTest, AccumulateFlushesAtEof) {
  write_log(
      "{\"event\":\"agent.message_chunk\",\"session_id\":\"s\",\"delta\":\"a\"}\n"
      "{\"event\":\"agent.message_chunk\",\"session_id\":\"s\",\"delta\":\"b\"}\n");
  ASSERT_EQ(run({"--accumulate", "--classify", log()}), 0);
  EXPECT_EQ(out_.str(), "ACTIVITY EVENT agent.message_chunk s ab\n");
}

TEST_F(WatchCommandTest, UsageErrorsExit2) {
  const std::string hint = "run 'avenor watch --help' for usage\n";
  write_log("");
  EXPECT_EQ(run({}), 2);
  EXPECT_EQ(err_.str(), "avenor watch: <log> is required\n" + hint);
  EXPECT_EQ(run({log(), log()}), 2);
  EXPECT_EQ(err_.str(),
            "avenor watch: unexpected argument \"" + log() + "\" (watch takes one <log>)\n" + hint);
  EXPECT_EQ(run({"--format", "xml", log()}), 2);
  EXPECT_EQ(err_.str(), "avenor watch: unsupported --format \"xml\" (plain or json)\n" + hint);
  EXPECT_EQ(run({"--bogus", log()}), 2);
  EXPECT_EQ(err_.str(), "avenor watch: flag provided but not defined: -bogus\n" + hint);
  EXPECT_EQ(run({"--poll-interval", "soon", log()}), 2);
  EXPECT_EQ(run({log(), "--poll-interval", "5"}), 2);
  EXPECT_EQ(err_.str(),
            "avenor watch: invalid value \"5\" for flag -poll-interval: missing unit in duration "
            "(use e.g. 5s, 10m, 1h30m)\n" +
                hint);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(run({"-h"}), 0);
  EXPECT_NE(out_.str().find("-since-cursor"), std::string::npos);
  EXPECT_EQ(err_.str(), "");
}

TEST_F(WatchCommandTest, FlagsMayFollowTheLog) {
  write_log("{\"event\":\"session.end\",\"session_id\":\"s\",\"stop_reason\":\"end_turn\"}\n");
  ASSERT_EQ(run({log(), "--classify"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "MILESTONE EVENT session.end s stop_reason=end_turn\n");
  ASSERT_EQ(run({log(), "--format", "json"}), 0) << err_.str();
  EXPECT_EQ(out_.str().rfind("{\"event\":\"session.end\"", 0), 0u);
}

TEST_F(WatchCommandTest, UnopenableLogExits2) {
  EXPECT_EQ(run({(dir_ / "missing").string()}), 2);
  EXPECT_EQ(err_.str(),
            "avenor watch: open " + (dir_ / "missing").string() + ": No such file or directory\n");
  EXPECT_EQ(run({dir_.path().string()}), 2);
  EXPECT_NE(err_.str().find("Is a directory"), std::string::npos);
}

TEST_F(WatchCommandTest, CursorErrorsExit2) {
  write_log("{\"event\":\"a\"}\n");
  test::write_file(cursor(), "-1\n");
  EXPECT_EQ(run({"--since-cursor", cursor(), log()}), 2);
  EXPECT_EQ(err_.str(), "avenor watch: invalid cursor file " + cursor() + ": negative offset -1\n");
  test::write_file(cursor(), "junk\n");
  EXPECT_EQ(run({"--since-cursor", cursor(), log()}), 2);
  test::write_file(cursor(), "15\n");
  EXPECT_EQ(run({"--since-cursor", cursor(), log()}), 2);
  EXPECT_EQ(err_.str(),
            "avenor watch: log ev.ndjson shorter than cursor (offset 15 > size 14) "
            "(cursor " +
                cursor() + ")\n");
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(test::read_file(cursor()), "15\n") << "a failed run leaves the cursor alone";
  test::write_file(cursor(), "14\n");
  EXPECT_EQ(run({"--since-cursor", cursor(), log()}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(test::read_file(cursor()), "14\n");
}

TEST_F(WatchCommandTest, OutputFailureExits1AndKeepsTheCursor) {
  write_log("{\"event\":\"a\"}\n");
  out_.setstate(std::ios::badbit);
  EXPECT_EQ(watch_main({"--since-cursor", cursor(), log()}, out_, err_), 1);
  EXPECT_NE(err_.str().find("avenor watch: write stdout: "), std::string::npos) << err_.str();
  EXPECT_FALSE(std::filesystem::exists(cursor()));
}

// Follow mode, run on a second thread; the log is a file the test appends to.
class WatchFollowTest : public WatchCommandTest {
 protected:
  std::future<int> start(watch::WatchConfig config) {
    config.follow = true;
    config.poll_interval = 10ms;
    UniqueFd fd(::open(log().c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_TRUE(fd);
    return std::async(std::launch::async, [this, config, fd = std::move(fd)]() mutable {
      return watch::run_watch(std::move(fd), 0, config, follow_out_, follow_err_);
    });
  }
  // Waits (bounded) for the follow thread to end on its own.
  int finish(std::future<int>& running, std::chrono::seconds limit = 10s) {
    if (running.wait_for(limit) != std::future_status::ready) {
      ADD_FAILURE() << "watch --follow did not end within " << limit.count() << " s";
      std::abort();  // the thread cannot be stopped from here
    }
    return running.get();
  }

  std::ostringstream follow_out_;
  std::ostringstream follow_err_;
};

TEST_F(WatchFollowTest, UntilEndStopsAfterAnAppendedTerminalEvent) {
  write_log("{\"event\":\"agent.status\",\"phase\":\"working\"}\n{\"event\":\"se");
  watch::WatchConfig config;
  config.until_end = true;
  config.cursor_path = cursor();
  auto running = start(config);
  append_log("ssion.start\"}\n");
  append_log("{\"event\":\"session.end\",\"stop_reason\":\"end_turn\"}\n");
  EXPECT_EQ(finish(running), 0) << follow_err_.str();
  EXPECT_EQ(follow_out_.str(),
            "EVENT agent.status  working\nEVENT session.start  \n"
            "EVENT session.end  stop_reason=end_turn\n");
  EXPECT_EQ(test::read_file(cursor()), std::to_string(std::filesystem::file_size(log())) + "\n");
}

TEST_F(WatchFollowTest, ExitOneStopWaitsForTheGraceAndARetryContinues) {
  write_log("{\"event\":\"session.end\",\"stop_reason\":\"error\"}\n");
  watch::WatchConfig config;
  config.until_end = true;
  config.until_end_grace = 5s;
  auto running = start(config);
  append_log("{\"event\":\"avenor.retry\",\"attempt\":2,\"max_retries\":1}\n");
  append_log("{\"event\":\"session.end\",\"stop_reason\":\"error\"}\n");
  append_log("{\"event\":\"avenor.retry\",\"attempt\":3,\"max_retries\":2}\n");
  append_log("{\"event\":\"session.end\",\"stop_reason\":\"end_turn\"}\n");
  EXPECT_EQ(finish(running), 0);
  EXPECT_EQ(follow_out_.str(),
            "EVENT session.end  stop_reason=error\nEVENT avenor.retry  attempt=2/1\n"
            "EVENT session.end  stop_reason=error\nEVENT avenor.retry  attempt=3/2\n"
            "EVENT session.end  stop_reason=end_turn\n");
}

TEST_F(WatchFollowTest, ExitOneStopEndsWhenTheGracePasses) {
  write_log("{\"event\":\"session.end\",\"stop_reason\":\"error\"}\n");
  watch::WatchConfig config;
  config.until_end = true;
  config.until_end_grace = 200ms;
  const auto started = std::chrono::steady_clock::now();
  auto running = start(config);
  EXPECT_EQ(finish(running), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
  EXPECT_EQ(follow_out_.str(), "EVENT session.end  stop_reason=error\n");
}

TEST_F(WatchFollowTest, LoopLogEndsAtTheOutermostLoopEnd) {
  write_log(
      "{\"event\":\"avenor.loop.start\",\"max_iterations\":2}\n"
      "{\"event\":\"avenor.phase.start\",\"phase\":\"p\",\"iteration\":1}\n"
      "{\"event\":\"session.end\",\"stop_reason\":\"end_turn\"}\n"
      "{\"event\":\"avenor.phase.end\",\"phase\":\"p\",\"stop_reason\":\"end_turn\"}\n");
  watch::WatchConfig config;
  config.until_end = true;
  config.lines.classify = true;
  auto running = start(config);
  append_log("{\"event\":\"avenor.loop.end\",\"exit_reason\":\"max_iterations\"}\n");
  EXPECT_EQ(finish(running), 0);
  EXPECT_EQ(follow_out_.str(),
            "MILESTONE EVENT avenor.loop.start  loop start, max_iterations=2\n"
            "ACTIVITY EVENT avenor.phase.start  phase: p (iter 1)\n"
            "MILESTONE EVENT session.end  stop_reason=end_turn\n"
            "MILESTONE EVENT avenor.phase.end  phase: p \u2192 end_turn\n"
            "MILESTONE EVENT avenor.loop.end  loop end: max_iterations\n");
}

TEST_F(WatchFollowTest, CursorIsSavedEveryTenLines) {
  std::string content;
  for (int i = 0; i < 10; ++i) content += "{\"event\":\"e" + std::to_string(i) + "\"}\n";
  write_log(content + "{\"event\":\"e10\"}\n");
  watch::WatchConfig config;
  config.until_end = true;
  config.cursor_path = cursor();
  auto running = start(config);
  // Wait (bounded) for the periodic write, before the run ends.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!std::filesystem::exists(cursor()) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(std::filesystem::exists(cursor())) << "no periodic cursor write";
  EXPECT_EQ(test::read_file(cursor()), std::to_string(content.size()) + "\n");
  append_log("{\"event\":\"session.end\",\"stop_reason\":\"cancelled\"}\n");
  EXPECT_EQ(finish(running), 0);
  EXPECT_EQ(test::read_file(cursor()), std::to_string(std::filesystem::file_size(log())) + "\n");
}

}  // namespace
}  // namespace avenor::host
