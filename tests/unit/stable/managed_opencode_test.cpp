// ManagedOpencodeServers against a scripted `opencode` found on PATH: a
// Python stand-in for `opencode serve --port N` that records each start in
// its working directory and starts a helper process in its process group.
#include "stable/managed_opencode.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <optional>

#include "../host/test_support.hpp"
#include "process/signals.hpp"

namespace avenor::host {
namespace {

using namespace std::chrono_literals;
using test::run_until;
namespace fs = std::filesystem;

// Modes (file `fake-mode` in the directory): ok, exit (exit 3 at once),
// unauthorized (health answers 401), ignore_term (SIGTERM ignored).
// A file `unhealthy-<pid>` makes that server's health answer 410.
constexpr const char* kFakeOpencode = R"(#!/usr/bin/env python3
import json, os, signal, subprocess, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
mode = open("fake-mode").read().strip() if os.path.exists("fake-mode") else "ok"
helper = None
if mode != "exit":
    helper = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
with open("fake-record.ndjson", "a") as f:
    f.write(json.dumps({"pid": os.getpid(), "helper": helper.pid if helper else 0, "port": port,
                        "argv": args, "cwd": os.getcwd(),
                        "password": os.environ.get("OPENCODE_SERVER_PASSWORD")}) + "\n")
if mode == "exit":
    sys.stderr.write("boom: port taken\n")
    sys.exit(3)
if mode == "ignore_term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

class Health(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        status = 200
        if mode == "unauthorized":
            status = 401
        elif os.path.exists(f"unhealthy-{os.getpid()}"):
            status = 410
        body = json.dumps({"healthy": status == 200, "version": "fake"}).encode()
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

ThreadingHTTPServer(("127.0.0.1", port), Health).serve_forever()
)";

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

struct Start {
  std::string url;
  std::string error;
};

struct Recorded {
  pid_t pid = 0;
  pid_t helper = 0;
  int port = 0;
  std::vector<std::string> argv;
  std::string cwd;
  bool password = false;
};

std::string path_with(const fs::path& bin) {
  const char* old = std::getenv("PATH");
  return bin.string() + ":" + (old ? old : "/usr/bin:/bin");
}

// Running and not a zombie (a reparented helper may linger as one briefly).
bool alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

class ManagedOpencodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ignore_sigpipe(); }

  ManagedOpencodeTest()
      : path_(std::make_unique<ScopedEnv>("PATH", path_with(tmp_.path() / "bin"))),
        password_(std::make_unique<ScopedEnv>("OPENCODE_SERVER_PASSWORD", "secret")) {
    fs::create_directories(tmp_.path() / "bin");
    const fs::path script = tmp_.path() / "bin" / "opencode";
    test::write_file(script, kFakeOpencode);
    fs::permissions(script, fs::perms::owner_all);
  }

  ~ManagedOpencodeTest() override {
    servers_.reset();  // kills whatever a failed test left running
  }

  fs::path project(const std::string& name, const std::string& mode = "ok") {
    const fs::path dir = tmp_.path() / name;
    fs::create_directories(dir);
    if (mode != "ok") test::write_file(dir / "fake-mode", mode);
    return dir;
  }

  // Starts url_for(dir) on the loop; the result lands in the returned slot.
  std::shared_ptr<std::optional<Start>> begin_url_for(const fs::path& dir) {
    auto slot = std::make_shared<std::optional<Start>>();
    boost::asio::co_spawn(io_, servers_->url_for(dir.string()),
                          [slot](std::exception_ptr e, std::string url) {
                            Start s;
                            if (e) {
                              try {
                                std::rethrow_exception(e);
                              } catch (const std::exception& ex) {
                                s.error = ex.what();
                              }
                            } else {
                              s.url = std::move(url);
                            }
                            *slot = std::move(s);
                          });
    return slot;
  }

  Start url_for(const fs::path& dir, std::chrono::milliseconds limit = 45s) {
    auto slot = begin_url_for(dir);
    EXPECT_TRUE(run_until(
        io_, [&] { return slot->has_value(); }, limit))
        << "url_for(" << dir << ") did not complete within " << limit.count() << " ms";
    return slot->value_or(Start{"", "did not complete"});
  }

  void stop_all(std::chrono::milliseconds limit = 20s) {
    bool done = false;
    boost::asio::co_spawn(io_, servers_->stop_all(), [&](std::exception_ptr) { done = true; });
    ASSERT_TRUE(run_until(
        io_, [&] { return done; }, limit))
        << "stop_all did not complete within " << limit.count() << " ms";
  }

  static std::vector<Recorded> records(const fs::path& dir) {
    std::vector<Recorded> out;
    std::ifstream in(dir / "fake-record.ndjson");
    for (std::string line; std::getline(in, line);) {
      const auto o = boost::json::parse(line).as_object();
      Recorded r;
      r.pid = static_cast<pid_t>(o.at("pid").as_int64());
      r.helper = static_cast<pid_t>(o.at("helper").as_int64());
      r.port = static_cast<int>(o.at("port").as_int64());
      for (const auto& a : o.at("argv").as_array()) r.argv.emplace_back(a.as_string());
      r.cwd = std::string(o.at("cwd").as_string());
      r.password = !o.at("password").is_null();
      out.push_back(std::move(r));
    }
    return out;
  }

  // Polls (bounded) until none of the recorded processes runs.
  void expect_all_gone(const std::vector<Recorded>& recs) {
    for (const auto& r : recs) {
      EXPECT_TRUE(run_until(
          io_, [&] { return !alive(r.pid) && !alive(r.helper); }, 10s))
          << "server " << r.pid << " or its helper " << r.helper << " still runs";
    }
  }

  test::TempDir tmp_;
  std::unique_ptr<ScopedEnv> path_;
  std::unique_ptr<ScopedEnv> password_;
  boost::asio::io_context io_;
  std::unique_ptr<ManagedOpencodeServers> servers_ = std::make_unique<ManagedOpencodeServers>(io_);
};

TEST_F(ManagedOpencodeTest, StartsOneHealthyServerPerDirectory) {
  const fs::path dir = project("a");
  const Start s = url_for(dir);
  ASSERT_EQ(s.error, "");
  const auto recs = records(dir);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(s.url, "http://127.0.0.1:" + std::to_string(recs[0].port));
  EXPECT_EQ(recs[0].argv, (std::vector<std::string>{"serve", "--hostname", "127.0.0.1", "--port",
                                                    std::to_string(recs[0].port), "--pure"}));
  EXPECT_EQ(fs::path(recs[0].cwd), fs::canonical(dir));
  // The URL carries no credentials, so the server must not require any.
  EXPECT_FALSE(recs[0].password);
  EXPECT_TRUE(alive(recs[0].pid));

  // A later call reuses the healthy server, also through a non-normal spelling.
  EXPECT_EQ(url_for(dir).url, s.url);
  EXPECT_EQ(url_for(dir.string() + "/./").url, s.url);
  EXPECT_EQ(records(dir).size(), 1u);

  stop_all();
  expect_all_gone(recs);
}

TEST_F(ManagedOpencodeTest, ConcurrentCallersShareOneStart) {
  const fs::path a = project("a");
  const fs::path b = project("b");
  auto first = begin_url_for(a);
  auto second = begin_url_for(a);
  auto other = begin_url_for(b);
  ASSERT_TRUE(run_until(
      io_, [&] { return first->has_value() && second->has_value() && other->has_value(); }, 45s))
      << "the three calls did not complete";
  ASSERT_EQ((*first)->error, "");
  ASSERT_EQ((*second)->error, "");
  ASSERT_EQ((*other)->error, "");
  EXPECT_EQ((*first)->url, (*second)->url);
  EXPECT_NE((*first)->url, (*other)->url);
  EXPECT_EQ(records(a).size(), 1u);
  EXPECT_EQ(records(b).size(), 1u);

  auto recs = records(a);
  const auto more = records(b);
  recs.insert(recs.end(), more.begin(), more.end());
  stop_all();
  expect_all_gone(recs);
}

TEST_F(ManagedOpencodeTest, RestartsAServerThatDied) {
  const fs::path dir = project("a");
  const Start s = url_for(dir);
  ASSERT_EQ(s.error, "");
  const Recorded first = records(dir).at(0);
  ASSERT_EQ(::kill(first.pid, SIGKILL), 0);
  // Its helper goes with it: the group is swept once the server is reaped.
  EXPECT_TRUE(run_until(
      io_, [&] { return !alive(first.pid) && !alive(first.helper); }, 10s))
      << "the killed server or its helper still runs";

  const Start again = url_for(dir);
  ASSERT_EQ(again.error, "");
  const auto recs = records(dir);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(again.url, "http://127.0.0.1:" + std::to_string(recs[1].port));
  EXPECT_TRUE(alive(recs[1].pid));

  stop_all();
  expect_all_gone(recs);
}

TEST_F(ManagedOpencodeTest, RestartsAServerThatTurnedUnhealthy) {
  const fs::path dir = project("a");
  ASSERT_EQ(url_for(dir).error, "");
  const Recorded first = records(dir).at(0);
  test::write_file(dir / ("unhealthy-" + std::to_string(first.pid)), "");

  const Start again = url_for(dir);
  ASSERT_EQ(again.error, "");
  const auto recs = records(dir);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(again.url, "http://127.0.0.1:" + std::to_string(recs[1].port));
  EXPECT_FALSE(alive(first.pid));
  EXPECT_TRUE(alive(recs[1].pid));

  stop_all();
  expect_all_gone(recs);
}

TEST_F(ManagedOpencodeTest, ServerExitingAtStartIsRetriedOnceThenReported) {
  const fs::path dir = project("a", "exit");
  const Start s = url_for(dir);
  EXPECT_EQ(s.url, "");
  EXPECT_EQ(s.error, "start managed opencode server for " + dir.string() +
                         ": opencode serve exited: process exited with status 3: boom: port taken");
  EXPECT_EQ(records(dir).size(), 2u);  // the first start and one retry on a new port
}

TEST_F(ManagedOpencodeTest, HealthClientErrorFailsAtOnce) {
  const fs::path dir = project("a", "unauthorized");
  const auto started = std::chrono::steady_clock::now();
  const Start s = url_for(dir);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
  const auto recs = records(dir);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(s.error, "start managed opencode server for " + dir.string() +
                         ": GET http://127.0.0.1:" + std::to_string(recs[0].port) +
                         "/global/health: HTTP 401");
  expect_all_gone(recs);  // the failed server is not left running
}

TEST_F(ManagedOpencodeTest, MissingOpencodeIsReported) {
  ScopedEnv path("PATH", (tmp_.path() / "empty").string());
  const fs::path dir = project("a");
  EXPECT_EQ(url_for(dir).error, "start managed opencode server for " + dir.string() +
                                    ": start opencode: No such file or directory");
}

TEST_F(ManagedOpencodeTest, RelativeDirectoryIsRefused) {
  EXPECT_EQ(url_for("rel/dir").error,
            "start managed opencode server for rel/dir: not an absolute directory");
}

TEST_F(ManagedOpencodeTest, StopAllKillsAServerIgnoringSigterm) {
  const fs::path dir = project("a", "ignore_term");
  ASSERT_EQ(url_for(dir).error, "");
  const auto recs = records(dir);
  const auto started = std::chrono::steady_clock::now();
  stop_all();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 3s) << "SIGKILL came before the 3 s grace";
  EXPECT_LT(took, 15s);
  expect_all_gone(recs);
  // Stopped for good: later calls fail instead of starting servers again.
  EXPECT_EQ(url_for(dir).error, "start managed opencode server for " + dir.string() +
                                    ": managed opencode servers are stopping");
  EXPECT_EQ(records(dir).size(), 1u);
}

TEST_F(ManagedOpencodeTest, DestructorKillsWhatIsLeft) {
  const fs::path dir = project("a");
  ASSERT_EQ(url_for(dir).error, "");
  const auto recs = records(dir);
  servers_.reset();
  EXPECT_FALSE(alive(recs[0].pid));  // reaped already, not a zombie
  expect_all_gone(recs);
}

}  // namespace
}  // namespace avenor::host
