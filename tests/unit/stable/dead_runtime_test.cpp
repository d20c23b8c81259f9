#include "stable/dead_runtime.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>
#include <vector>

namespace avenor::host {
namespace {

namespace fs = std::filesystem;

class DeadRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dead-runtime-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  fs::path dir_;
};

TEST_F(DeadRuntime, TailIsTheLastCompleteLine) {
  write(dir_ / "log",
        "{\"event\":\"a\",\"seq\":1}\n{\"event\":\"session.end\",\"seq\":2}\n{\"event\":\"par");
  auto t = read_log_tail(dir_ / "log");
  EXPECT_EQ(t.last_event, "session.end");
  EXPECT_EQ(t.last_seq, 2);
  EXPECT_EQ(read_log_tail(dir_ / "missing").last_event, "");
  ::mkfifo((dir_ / "fifo").c_str(), 0600);
  EXPECT_EQ(read_log_tail(dir_ / "fifo").last_event, "");  // never blocks on a FIFO
}

TEST_F(DeadRuntime, AppendContinuesTheSequence) {
  write(dir_ / "log", "{\"event\":\"x\",\"seq\":4}\n");
  std::ostringstream err;
  auto e = append_dead_runtime_event(dir_ / "log", boost::json::object{{"event", "session.end"}}, 5,
                                     "RUN", "", "rt_1", err);
  EXPECT_EQ(e.at("seq").as_int64(), 5);
  EXPECT_FALSE(e.contains("run_label"));
  EXPECT_EQ(read_log_tail(dir_ / "log").last_seq, 5);
  EXPECT_EQ(err.str(), "");
  ::mkfifo((dir_ / "fifo").c_str(), 0600);
  append_dead_runtime_event(dir_ / "fifo", boost::json::object{{"event", "x"}}, 1, "R", "", "rt",
                            err);
  EXPECT_NE(err.str().find("not a writable regular file"), std::string::npos);
}

TEST_F(DeadRuntime, AppendEndsATornLastLineFirst) {
  write(dir_ / "log", "{\"event\":\"x\",\"seq\":4}\n{\"event\":\"agent.mess");
  std::ostringstream err;
  append_dead_runtime_event(dir_ / "log", boost::json::object{{"event", "session.end"}}, 5, "RUN",
                            "", "rt_1", err);
  EXPECT_EQ(err.str(), "");
  std::ifstream in(dir_ / "log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "{\"event\":\"agent.mess") << "the torn line is ended, not extended";
  const auto end = boost::json::parse(lines[2]).as_object();
  EXPECT_EQ(end.at("event").as_string(), "session.end");
  EXPECT_EQ(read_log_tail(dir_ / "log").last_seq, 5);
  // A complete log gets no extra newline.
  std::ostringstream err2;
  append_dead_runtime_event(dir_ / "log", boost::json::object{{"event", "y"}}, 6, "RUN", "", "rt_1",
                            err2);
  std::stringstream all;
  all << std::ifstream(dir_ / "log").rdbuf();
  EXPECT_EQ(all.str().find("\n\n"), std::string::npos);
}

TEST_F(DeadRuntime, SentinelExitCodes) {
  std::ostringstream err;
  write_failed_sentinel(dir_ / "s", "ses", "RUN", err);
  EXPECT_EQ(sentinel_exit_code(dir_ / "s"), 1);
  std::ifstream in(dir_ / "s");
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "FAILED");
  for (auto [text, code] : std::vector<std::pair<std::string, int>>{{"DONE\n", 0},
                                                                    {"BLOCKED\n", 5},
                                                                    {"TIMEOUT\n", 124},
                                                                    {"KILLED\n", 130},
                                                                    {"FAILED\nEXIT_CODE=3\n", 3},
                                                                    {"", 1}}) {
    write(dir_ / "t", text);
    EXPECT_EQ(sentinel_exit_code(dir_ / "t"), code) << text;
  }
}

}  // namespace
}  // namespace avenor::host
