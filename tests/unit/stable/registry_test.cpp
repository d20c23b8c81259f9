#include "stable/registry.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>

#include "../host/test_support.hpp"

namespace avenor::host {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

Registry sample() {
  Registry r;
  r.supervisor_run_id = "0123456789abcdef";
  r.next_runtime = 4;
  RegistryRuntime a;
  a.runtime_id = "rt_1";
  a.pid = 1234;
  a.pgid = 1234;
  a.identity_token = std::string(64, 'f');
  a.control_socket = "/s/rt_1/control.sock";
  a.on_event = "/s/rt_1/events.ndjson";
  a.sentinel_file = "/s/rt_1/sentinel.env";
  a.dir = "/work";
  a.label = "büild \"x\"";
  a.agent = "build";
  a.agent_profile = "p";
  a.model = "m/1";
  a.thinking = "high";
  a.backend = "opencode-acp";
  a.auto_approve = true;
  a.children = {"rt_3"};
  a.session_id = "ses_1";
  a.started_at = 1700000000123;
  a.status = "idle";
  a.exit_code = 0;
  RegistryRuntime c;
  c.runtime_id = "rt_3";
  c.parent_id = "rt_1";
  c.status = "ended";
  c.exit_code = 130;
  r.runtimes = {a, c};
  return r;
}

void expect_equal(const RegistryRuntime& a, const RegistryRuntime& b) {
  EXPECT_EQ(a.runtime_id, b.runtime_id);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.pgid, b.pgid);
  EXPECT_EQ(a.identity_token, b.identity_token);
  EXPECT_EQ(a.control_socket, b.control_socket);
  EXPECT_EQ(a.on_event, b.on_event);
  EXPECT_EQ(a.sentinel_file, b.sentinel_file);
  EXPECT_EQ(a.dir, b.dir);
  EXPECT_EQ(a.label, b.label);
  EXPECT_EQ(a.agent, b.agent);
  EXPECT_EQ(a.agent_profile, b.agent_profile);
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.thinking, b.thinking);
  EXPECT_EQ(a.backend, b.backend);
  EXPECT_EQ(a.auto_approve, b.auto_approve);
  EXPECT_EQ(a.parent_id, b.parent_id);
  EXPECT_EQ(a.children, b.children);
  EXPECT_EQ(a.session_id, b.session_id);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.exit_code, b.exit_code);
}

// Loads a file expected to be rejected as a whole; returns the warning.
std::string rejected(const fs::path& file) {
  RegistryLoad load = load_registry(file);
  EXPECT_FALSE(load.registry.has_value());
  EXPECT_EQ(load.warnings.size(), 1u);
  if (load.warnings.size() != 1) return "";
  const std::string& w = load.warnings[0];
  EXPECT_EQ(w.rfind("registry " + file.string() + ": ", 0), 0u) << w;
  EXPECT_NE(w.find("; starting with an empty registry"), std::string::npos) << w;
  return w;
}

TEST(Registry, RoundTripsWithMode0600AndNoTempFiles) {
  TempDir tmp;
  const fs::path file = tmp / "registry.json";
  save_registry(file, sample());
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"registry.json"});

  RegistryLoad load = load_registry(file);
  ASSERT_TRUE(load.registry.has_value());
  EXPECT_TRUE(load.warnings.empty());
  const Registry& r = *load.registry;
  EXPECT_EQ(r.supervisor_run_id, "0123456789abcdef");
  EXPECT_EQ(r.next_runtime, 4);
  ASSERT_EQ(r.runtimes.size(), 2u);
  expect_equal(r.runtimes[0], sample().runtimes[0]);
  expect_equal(r.runtimes[1], sample().runtimes[1]);

  // The documented shape (control.md §10.16).
  auto doc = boost::json::parse(test::read_file(file)).as_object();
  EXPECT_TRUE(doc.contains("supervisor_run_id"));
  EXPECT_EQ(doc.at("next_runtime").as_int64(), 4);
  const auto& first = doc.at("runtimes").as_array().at(0).as_object();
  for (const char* key :
       {"runtime_id",    "pid",           "pgid",       "identity_token", "control_socket",
        "on_event",      "sentinel_file", "dir",        "label",          "agent",
        "agent_profile", "model",         "thinking",   "backend",        "auto_approve",
        "parent_id",     "children",      "session_id", "started_at",     "status",
        "exit_code"})
    EXPECT_TRUE(first.contains(key)) << key;
}

TEST(Registry, SaveReplacesTheWholeFile) {
  TempDir tmp;
  const fs::path file = tmp / "registry.json";
  save_registry(file, sample());
  Registry empty;
  empty.supervisor_run_id = "x";
  save_registry(file, empty);
  RegistryLoad load = load_registry(file);
  ASSERT_TRUE(load.registry);
  EXPECT_TRUE(load.registry->runtimes.empty());
  EXPECT_EQ(load.registry->next_runtime, 1);
}

TEST(Registry, SaveFailureThrowsSystemError) {
  TempDir tmp;
  EXPECT_THROW(save_registry(tmp / "no-such-dir" / "registry.json", sample()), std::system_error);
}

TEST(Registry, MissingFileIsSilentlyEmpty) {
  TempDir tmp;
  RegistryLoad load = load_registry(tmp / "registry.json");
  EXPECT_FALSE(load.registry);
  EXPECT_TRUE(load.warnings.empty());
}

TEST(Registry, CorruptAndTruncatedFilesAreLeftAlone) {
  TempDir tmp;
  const fs::path file = tmp / "registry.json";
  test::write_file(file, "not json at all");
  EXPECT_NE(rejected(file).find("not valid JSON"), std::string::npos);
  EXPECT_EQ(test::read_file(file), "not json at all") << "the file was modified";

  save_registry(file, sample());
  std::string whole = test::read_file(file);
  test::write_file(file, whole.substr(0, whole.size() / 2));
  EXPECT_NE(rejected(file).find("not valid JSON"), std::string::npos);
  EXPECT_TRUE(fs::exists(file));

  test::write_file(file, "");
  rejected(file);
}

TEST(Registry, WrongShapeIsRejected) {
  TempDir tmp;
  const fs::path file = tmp / "registry.json";
  for (const char* text : {"[]", "42", R"({"next_runtime":1,"runtimes":[]})",
                           R"({"supervisor_run_id":7,"next_runtime":1,"runtimes":[]})",
                           R"({"supervisor_run_id":"a","next_runtime":"1","runtimes":[]})",
                           R"({"supervisor_run_id":"a","next_runtime":0,"runtimes":[]})",
                           R"({"supervisor_run_id":"a","next_runtime":1.5,"runtimes":[]})",
                           R"({"supervisor_run_id":"a","next_runtime":1,"runtimes":{}})"}) {
    test::write_file(file, text);
    SCOPED_TRACE(text);
    rejected(file);
  }
}

TEST(Registry, BadEntriesAreSkippedTheRestKept) {
  TempDir tmp;
  const fs::path file = tmp / "registry.json";
  test::write_file(file, R"({"supervisor_run_id":"abc","next_runtime":9,"runtimes":[
    {"runtime_id":"rt_1","pid":10,"status":"running"},
    "not an object",
    {"runtime_id":"bogus"},
    {"runtime_id":"rt_2","pid":"ten"},
    {"runtime_id":"rt_3","children":[1]},
    {"runtime_id":"rt_4","exit_code":99999999999},
    {"runtime_id":"rt_1"},
    {"runtime_id":"rt_5","label":null,"pid":5}
  ]})");
  RegistryLoad load = load_registry(file);
  ASSERT_TRUE(load.registry);
  ASSERT_EQ(load.registry->runtimes.size(), 2u);
  EXPECT_EQ(load.registry->runtimes[0].runtime_id, "rt_1");
  EXPECT_EQ(load.registry->runtimes[0].pid, 10);
  EXPECT_EQ(load.registry->runtimes[1].runtime_id, "rt_5");
  EXPECT_EQ(load.registry->next_runtime, 9);
  ASSERT_EQ(load.warnings.size(), 6u);
  EXPECT_NE(load.warnings[0].find("runtime entry 1: not an object; skipped"), std::string::npos)
      << load.warnings[0];
  EXPECT_NE(load.warnings[2].find("pid is not an integer"), std::string::npos) << load.warnings[2];
  EXPECT_NE(load.warnings[5].find("duplicate rt_1"), std::string::npos) << load.warnings[5];
}

TEST(Registry, FifoDirectoryAndSymlinkDoNotHangOrThrow) {
  TempDir tmp;
  const fs::path fifo = tmp / "fifo.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening a FIFO without a writer would block a plain open(2) forever.
  EXPECT_NE(rejected(fifo).find("not a regular file"), std::string::npos);
  EXPECT_TRUE(fs::is_fifo(fifo));

  fs::create_directory(tmp / "dir.json");
  EXPECT_NE(rejected(tmp / "dir.json").find("not a regular file"), std::string::npos);

  save_registry(tmp / "real.json", sample());
  fs::create_symlink(tmp / "real.json", tmp / "link.json");
  EXPECT_NE(rejected(tmp / "link.json").find("symbolic link"), std::string::npos);
}

TEST(Registry, UnreadableFileIsReported) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads mode-000 files";
  TempDir tmp;
  const fs::path file = tmp / "registry.json";
  save_registry(file, sample());
  ::chmod(file.c_str(), 0);
  EXPECT_NE(rejected(file).find("Permission denied"), std::string::npos);
}

TEST(Registry, HugeFileIsRejectedWithoutParsing) {
  TempDir tmp;
  const fs::path file = tmp / "registry.json";
  {
    std::ofstream out(file, std::ios::binary);
    out << R"({"supervisor_run_id":")" << std::string(16 * 1024 * 1024, 'a') << R"("})";
  }
  EXPECT_NE(rejected(file).find("larger than 16 MiB"), std::string::npos);
}

TEST(Registry, DeepNestingIsRejected) {
  TempDir tmp;
  const fs::path file = tmp / "registry.json";
  const std::size_t depth = 1000000;
  test::write_file(file, std::string(depth, '[') + std::string(depth, ']'));
  EXPECT_NE(rejected(file).find("not valid JSON"), std::string::npos);

  // Deep data inside an otherwise valid entry.
  test::write_file(
      file,
      R"({"supervisor_run_id":"a","next_runtime":1,"runtimes":[{"runtime_id":"rt_1","label":)" +
          std::string(100, '[') + std::string(100, ']') + "}]}");
  rejected(file);
}

TEST(Registry, RuntimeDirsSortedNumerically) {
  TempDir tmp;
  for (const char* d : {"rt_10", "rt_2", "rt_1", "rt_x", "rt_", "rt_01", "other"})
    fs::create_directory(tmp / d);
  test::write_file(tmp / "rt_3", "a file");
  fs::create_directory_symlink(tmp / "rt_1", tmp / "rt_4");
  EXPECT_EQ(runtime_dirs(tmp.path()), (std::vector<std::string>{"rt_1", "rt_2", "rt_10"}));
  EXPECT_TRUE(runtime_dirs(tmp / "missing").empty());
}

}  // namespace
}  // namespace avenor::host
