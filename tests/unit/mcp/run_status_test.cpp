// How a run's status reads to an MCP client: the sentinel reader and the
// mapping of the supervisor's runtime entry (control.md §11.3, D16).
#include "mcp/run_status.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <cstdlib>
#include <set>
#include <string>

#include "../host/test_support.hpp"

namespace avenor::host::mcp {
namespace {

namespace json = boost::json;
using test::TempDir;
using test::write_file;

std::set<std::string> keys_of(const json::object& o) {
  std::set<std::string> keys;
  for (const auto& kv : o) keys.emplace(kv.key());
  return keys;
}

std::string str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return (v != nullptr && v->is_string()) ? std::string(v->get_string()) : "<absent>";
}

class McpRunStatus : public ::testing::Test {
 protected:
  McpRunStatus() {
    run_.run_id = "3f1c2a4e-0000-4000-8000-000000000001";
    run_.label = "job";
    run_.supervisor_id = "/tmp/sup.sock";
    run_.runtime_id = "rt_1";
    run_.session_id = "ses-registry";
    run_.sentinel_file = (dir_ / "avenor-run.done").string();
    run_.event_path = (dir_ / "avenor-run.log").string();
    run_.repo_dir = "/repo";
    run_.backend = "opencode-acp";
    run_.agent = "build";
    run_.model = "p/m";
  }

  void sentinel(const std::string& text) { write_file(run_.sentinel_file, text); }

  // The mapped status of an entry with the supervisor status `status`.
  std::string status_of(const std::string& status, json::object entry = {}) {
    entry["status"] = status;
    return str(run_status(run_, entry), "status");
  }

  TempDir dir_;
  RunRecord run_;
};

// ---- read_sentinel ----

TEST_F(McpRunStatus, SentinelMissingEmptyOrUnnamedIsNotPresent) {
  EXPECT_FALSE(read_sentinel((dir_ / "missing").string()).present);
  EXPECT_FALSE(read_sentinel("").present);
  write_file(dir_ / "empty", "");
  EXPECT_FALSE(read_sentinel((dir_ / "empty").string()).present);
}

TEST_F(McpRunStatus, SentinelFifoIsNotPresentAndNeverBlocks) {
  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // In a child with an alarm: a read that blocked on the writerless FIFO
  // would be killed by SIGALRM instead of hanging the suite.
  EXPECT_EXIT(
      {
        ::alarm(5);
        const SentinelView v = read_sentinel(fifo);
        std::_Exit(v.present ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(McpRunStatus, SentinelDirectoryIsNotPresent) {
  std::filesystem::create_directory(dir_ / "d");
  EXPECT_FALSE(read_sentinel((dir_ / "d").string()).present);
}

TEST_F(McpRunStatus, SentinelSymlinkIsNotFollowed) {
  write_file(dir_ / "real", "DONE\nSESSION=s1\n");
  ASSERT_EQ(::symlink((dir_ / "real").c_str(), (dir_ / "link").c_str()), 0);
  EXPECT_TRUE(read_sentinel((dir_ / "real").string()).present);
  EXPECT_FALSE(read_sentinel((dir_ / "link").string()).present);
}

TEST_F(McpRunStatus, SentinelFields) {
  write_file(dir_ / "s", "DONE\nSESSION=ses_42\nSTOP_REASON=end_turn\n");
  SentinelView v = read_sentinel((dir_ / "s").string());
  EXPECT_TRUE(v.present);
  EXPECT_EQ(v.state, "DONE");
  EXPECT_EQ(v.session_id, "ses_42");
  EXPECT_EQ(v.stop_reason, "end_turn");

  // No trailing newline, no fields.
  write_file(dir_ / "s", "KILLED");
  v = read_sentinel((dir_ / "s").string());
  EXPECT_TRUE(v.present);
  EXPECT_EQ(v.state, "KILLED");
  EXPECT_EQ(v.session_id, "");
  EXPECT_EQ(v.stop_reason, "");

  // A last field without a newline still reads whole.
  write_file(dir_ / "s", "FAILED\nSTOP_REASON=refusal");
  v = read_sentinel((dir_ / "s").string());
  EXPECT_EQ(v.state, "FAILED");
  EXPECT_EQ(v.stop_reason, "refusal");
}

TEST(McpRunStatusWords, TerminalAndSentinelWords) {
  for (const char* s : {"done", "failed", "timeout", "killed"}) EXPECT_TRUE(is_terminal(s)) << s;
  for (const char* s : {"running", "idle", "ended", "waiting", ""})
    EXPECT_FALSE(is_terminal(s)) << s;
  EXPECT_EQ(status_of_sentinel("DONE"), "done");
  EXPECT_EQ(status_of_sentinel("FAILED"), "failed");
  EXPECT_EQ(status_of_sentinel("BLOCKED"), "failed");
  EXPECT_EQ(status_of_sentinel("TIMEOUT"), "timeout");
  EXPECT_EQ(status_of_sentinel("KILLED"), "killed");
  EXPECT_EQ(status_of_sentinel("garbage"), "failed");
}

// ---- run_status: the status mapping ----

TEST_F(McpRunStatus, RunningIsRunning) {
  sentinel("DONE\n");  // a stale sentinel does not matter while running
  EXPECT_EQ(status_of("running"), "running");
}

TEST_F(McpRunStatus, IdleIsDoneOnlyWithDoneSentinel) {
  EXPECT_EQ(status_of("idle"), "running");
  sentinel("FAILED\n");
  EXPECT_EQ(status_of("idle"), "running");
  sentinel("DONE\nSESSION=s\n");
  EXPECT_EQ(status_of("idle"), "done");
}

TEST_F(McpRunStatus, IdleFollowUpIsDoneOnceItsTurnSettled) {
  sentinel("DONE\n");  // the previous turn's sentinel
  run_.turn_baseline = 2;
  EXPECT_EQ(status_of("idle", {{"settled_turns", 2}}), "running");
  EXPECT_EQ(status_of("idle", {{"settled_turns", 1}}), "running");
  EXPECT_EQ(status_of("idle"), "running");  // no count: not settled
  EXPECT_EQ(status_of("idle", {{"settled_turns", 3}}), "done");
}

TEST_F(McpRunStatus, EndedReadsTheSentinel) {
  const std::pair<const char*, const char*> cases[] = {{"DONE\n", "done"},
                                                       {"FAILED\n", "failed"},
                                                       {"BLOCKED\nREASON=x\n", "failed"},
                                                       {"TIMEOUT\n", "timeout"},
                                                       {"KILLED\n", "killed"}};
  for (const auto& [line, want] : cases) {
    sentinel(line);
    EXPECT_EQ(status_of("ended"), want) << line;
  }
}

TEST_F(McpRunStatus, EndedWithoutSentinelIsDone) { EXPECT_EQ(status_of("ended"), "done"); }

TEST_F(McpRunStatus, BlockedIsFailedOthersPassThrough) {
  EXPECT_EQ(status_of("blocked"), "failed");
  for (const char* s : {"done", "failed", "timeout", "killed", "waiting"})
    EXPECT_EQ(status_of(s), s);
}

TEST_F(McpRunStatus, FinalOutputOnlyWhenTerminal) {
  const json::object out{{"final_output", "the answer"}, {"final_output_truncated", true}};
  json::object entry = out;
  entry["status"] = "running";
  json::object s = run_status(run_, entry);
  EXPECT_FALSE(s.contains("final_output"));
  EXPECT_FALSE(s.contains("final_output_truncated"));

  entry["status"] = "idle";  // parked, but this turn's sentinel is not DONE yet
  EXPECT_FALSE(run_status(run_, entry).contains("final_output"));

  sentinel("DONE\n");
  s = run_status(run_, entry);
  EXPECT_EQ(str(s, "status"), "done");
  EXPECT_EQ(str(s, "final_output"), "the answer");
  EXPECT_EQ(s.at("final_output_truncated"), true);

  entry["status"] = "ended";
  sentinel("FAILED\n");
  EXPECT_EQ(str(run_status(run_, entry), "final_output"), "the answer");
}

TEST_F(McpRunStatus, FrozenRunReturnsTheFrozenObject) {
  const json::object frozen{{"run_id", run_.run_id}, {"status", "done"}, {"final_output", "old"}};
  run_.frozen = frozen;
  EXPECT_EQ(run_status(run_, json::object{{"status", "running"}, {"final_output", "new"}}), frozen);
  EXPECT_EQ(run_status(run_, std::nullopt), frozen);
}

TEST_F(McpRunStatus, BackendAgentModelFallBackToEffective) {
  json::object entry{{"status", "running"},
                     {"agent", ""},
                     {"effective_agent", "build"},
                     {"backend", "codex-app-server"},
                     {"effective_backend", "opencode-acp"},
                     {"effective_model", "prov/model"}};
  json::object s = run_status(run_, entry);
  EXPECT_EQ(str(s, "agent"), "build");
  EXPECT_EQ(str(s, "backend"), "codex-app-server");  // as asked wins
  EXPECT_EQ(str(s, "model"), "prov/model");
  s = run_status(run_, json::object{{"status", "running"}});
  EXPECT_EQ(str(s, "agent"), "");
  EXPECT_EQ(str(s, "backend"), "");
  EXPECT_EQ(str(s, "model"), "");
}

TEST_F(McpRunStatus, FullViewKeysFromAFullEntry) {
  // A runtime entry as the supervisor sends it (control.md §10.5).
  json::object entry = json::parse(R"({
    "runtime_id":"rt_9","session_id":"ses_live","run_id":"sup-run","label":"sup-label",
    "agent":"a","agent_profile":"p","model":"m","thinking":"high","backend":"b",
    "effective_agent":"ea","effective_model":"em","effective_backend":"eb","dir":"/d",
    "status":"running","started_at":1,"exit_code":0,"on_event":"/log","event_path":"/log",
    "sentinel_file":"/s","parent_id":null,"children":[],"pid":12,"runtime_pid":13,
    "phase":"work","phase_label":"Working","pending_permission":true,"latest_seq":17,
    "auto_approve":false,"permission":{"request_id":"q1"},"usage":{"tokens":3},
    "final_output":"x"})")
                           .as_object();
  const json::object s = run_status(run_, entry);
  EXPECT_EQ(keys_of(s), (std::set<std::string>{"run_id",     "label",         "status",
                                               "runtime_id", "supervisor_id", "session_id",
                                               "phase",      "phase_label",   "pending_permission",
                                               "permission", "backend",       "agent",
                                               "model",      "dir",           "parent_id",
                                               "children",   "event_path",    "sentinel_file",
                                               "usage",      "latest_seq"}));
  // The run's own identity, the runtime's live values.
  EXPECT_EQ(str(s, "run_id"), run_.run_id);
  EXPECT_EQ(str(s, "label"), "job");
  EXPECT_EQ(str(s, "runtime_id"), "rt_1");
  EXPECT_EQ(str(s, "supervisor_id"), "/tmp/sup.sock");
  EXPECT_EQ(str(s, "session_id"), "ses_live");
  EXPECT_EQ(str(s, "phase"), "work");
  EXPECT_EQ(s.at("pending_permission"), true);
  EXPECT_EQ(s.at("latest_seq"), 17);
  EXPECT_EQ(s.at("permission").at("request_id"), "q1");
}

TEST_F(McpRunStatus, EntryWithoutASessionIdKeepsTheRegistrysOne) {
  // A runtime still starting has no session id yet; the spawn answered one.
  const json::object entry{{"runtime_id", "rt_1"}, {"status", "running"}, {"session_id", ""}};
  EXPECT_EQ(str(run_status(run_, entry), "session_id"), "ses-registry");
  const json::object live{{"runtime_id", "rt_1"}, {"status", "running"}, {"session_id", "ses_2"}};
  EXPECT_EQ(str(run_status(run_, live), "session_id"), "ses_2");
}

TEST_F(McpRunStatus, NoEntryTheSentinelDecides) {
  json::object s = run_status(run_, std::nullopt);
  EXPECT_EQ(str(s, "status"), "failed");  // nothing reports it, nothing says how it ended
  EXPECT_TRUE(s.contains("error"));
  EXPECT_EQ(str(s, "session_id"), "ses-registry");
  EXPECT_EQ(str(s, "backend"), "opencode-acp");
  EXPECT_EQ(str(s, "agent"), "build");
  EXPECT_EQ(str(s, "model"), "p/m");
  EXPECT_EQ(str(s, "dir"), "/repo");
  EXPECT_EQ(str(s, "event_path"), run_.event_path);
  EXPECT_EQ(str(s, "sentinel_file"), run_.sentinel_file);
  EXPECT_EQ(s.at("pending_permission"), false);

  sentinel("DONE\nSESSION=ses_from_sentinel\n");
  s = run_status(run_, std::nullopt);
  EXPECT_EQ(str(s, "status"), "done");
  EXPECT_FALSE(s.contains("error"));
  EXPECT_EQ(str(s, "session_id"), "ses_from_sentinel");

  const std::pair<const char*, const char*> cases[] = {{"TIMEOUT\n", "timeout"},
                                                       {"KILLED\n", "killed"},
                                                       {"BLOCKED\n", "failed"},
                                                       {"FAILED\n", "failed"}};
  for (const auto& [line, want] : cases) {
    sentinel(line);
    s = run_status(run_, std::nullopt);
    EXPECT_EQ(str(s, "status"), want) << line;
    EXPECT_EQ(str(s, "session_id"), "ses-registry") << "no SESSION= line: the registry's";
  }
}

TEST(McpLifecycleView, KeepsExactlyItsKeys) {
  const json::object full{{"run_id", "r"},
                          {"label", "l"},
                          {"status", "running"},
                          {"runtime_id", "rt_1"},
                          {"supervisor_id", "/s"},
                          {"session_id", "ses"},
                          {"phase", "p"},
                          {"phase_label", "P"},
                          {"pending_permission", false},
                          {"permission", json::object{}},
                          {"backend", "b"},
                          {"latest_seq", 4},
                          {"final_output", "x"},
                          {"timed_out", true}};
  const json::object view = lifecycle_view(full);
  EXPECT_EQ(keys_of(view), (std::set<std::string>{"run_id", "label", "status", "runtime_id",
                                                  "phase", "phase_label", "pending_permission",
                                                  "latest_seq", "timed_out"}));
  EXPECT_EQ(view.at("timed_out"), true);
  EXPECT_EQ(view.at("latest_seq"), 4);
  // timed_out only when the full object has it.
  json::object no_wait = full;
  no_wait.erase("timed_out");
  EXPECT_FALSE(lifecycle_view(no_wait).contains("timed_out"));
}

}  // namespace
}  // namespace avenor::host::mcp
