#include "process/child_process.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/wait.h>

#include <csignal>

#include "process/signals.hpp"
#include "test_support.hpp"

namespace avenor::host {
namespace {

using namespace std::chrono_literals;
using test::run_until;

const std::vector<std::string> kEnv = {"PATH=/usr/local/bin:/usr/bin:/bin"};

// Collects what a child reports.
struct Observed {
  std::string out;
  std::optional<std::string> closed;
  int closed_calls = 0;
  ChildHandlers handlers() {
    return ChildHandlers{[this](std::string_view chunk) { out.append(chunk); },
                         [this](std::string reason) {
                           closed = std::move(reason);
                           ++closed_calls;
                         }};
  }
};

class ChildProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ignore_sigpipe(); }

  std::unique_ptr<ChildProcess> sh(const std::string& script, Observed& seen) {
    return ChildProcess::spawn(io_, ChildSpec{{"/bin/sh", "-c", script}, kEnv, ""},
                               seen.handlers());
  }

  void wait_closed(Observed& seen, std::chrono::milliseconds limit = 10s) {
    ASSERT_TRUE(run_until(
        io_, [&] { return seen.closed.has_value(); }, limit))
        << "child did not report closed within " << limit.count() << " ms";
  }

  static void expect_reaped(pid_t pid) {
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, WNOHANG), -1) << "child " << pid << " not reaped";
    EXPECT_EQ(errno, ECHILD);
  }

  boost::asio::io_context io_;
};

TEST_F(ChildProcessTest, EchoReportsOutputThenCleanExit) {
  Observed seen;
  auto child = sh("echo hello; echo world", seen);
  EXPECT_GT(child->pid(), 0);
  wait_closed(seen);
  EXPECT_EQ(seen.out, "hello\nworld\n");
  EXPECT_EQ(*seen.closed, "process exited");
  EXPECT_FALSE(child->running());
  expect_reaped(child->pid());
  // Exactly once, even if the loop keeps running.
  test::run_for(io_, 50ms);
  EXPECT_EQ(seen.closed_calls, 1);
}

TEST_F(ChildProcessTest, CatRoundTripThroughStdin) {
  Observed seen;
  auto child = ChildProcess::spawn(io_, ChildSpec{{"cat"}, kEnv, ""}, seen.handlers());
  child->write("first line\n");
  child->write("second ");
  child->write("line\n");
  ASSERT_TRUE(run_until(io_, [&] { return seen.out == "first line\nsecond line\n"; }))
      << "got: " << seen.out;
  bool done = false;
  child->close([&] { done = true; });
  ASSERT_TRUE(run_until(io_, [&] { return done; })) << "close() never completed";
  EXPECT_TRUE(seen.closed.has_value());
  expect_reaped(child->pid());
}

TEST_F(ChildProcessTest, EnvironmentAndCwdExactlyAsGiven) {
  Observed seen;
  auto child = ChildProcess::spawn(
      io_, ChildSpec{{"/bin/sh", "-c", "env; pwd"}, {"ONLY=this", "PATH=/bin"}, "/"},
      seen.handlers());
  wait_closed(seen);
  EXPECT_NE(seen.out.find("ONLY=this\n"), std::string::npos) << seen.out;
  EXPECT_EQ(seen.out.find("HOME="), std::string::npos) << seen.out;
  EXPECT_EQ(seen.out.substr(seen.out.size() - 2), "/\n") << seen.out;
}

TEST_F(ChildProcessTest, RunsInItsOwnProcessGroup) {
  Observed seen;
  auto child = sh("echo ready; exec sleep 30", seen);
  ASSERT_TRUE(run_until(io_, [&] { return seen.out == "ready\n"; }));
  EXPECT_EQ(::getpgid(child->pid()), child->pid());
  EXPECT_NE(::getpgid(child->pid()), ::getpgrp());
  child->kill_now("test over");
  wait_closed(seen);
  EXPECT_EQ(*seen.closed, "test over");
}

// The child starts like a vfork: it runs on our memory with every signal
// blocked until exec. The backend still gets an empty mask and SIGPIPE back
// at its default, and our own mask is what it was before the spawn.
TEST_F(ChildProcessTest, ChildGetsCleanSignalStateAndOurMaskIsKept) {
  sigset_t usr2;
  sigset_t before;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr2, &before), 0);
  Observed seen;
  auto child = sh("grep -E '^Sig(Blk|Ign):' /proc/self/status", seen);
  wait_closed(seen);
  sigset_t after;
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, &before, &after), 0);
  EXPECT_TRUE(sigismember(&after, SIGUSR2));
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE})
    EXPECT_EQ(sigismember(&after, sig), sigismember(&before, sig)) << "signal " << sig;
  EXPECT_NE(seen.out.find("SigBlk:\t0000000000000000\n"), std::string::npos) << seen.out;
  const auto ign = seen.out.find("SigIgn:\t");
  ASSERT_NE(ign, std::string::npos) << seen.out;
  const unsigned long long ignored = std::stoull(seen.out.substr(ign + 8, 16), nullptr, 16);
  EXPECT_EQ(ignored & (1ULL << (SIGPIPE - 1)), 0u) << "SIGPIPE must not stay ignored: " << seen.out;
}

TEST_F(ChildProcessTest, ExecFailureThrowsFromSpawn) {
  Observed seen;
  try {
    ChildProcess::spawn(io_, ChildSpec{{"/nonexistent/avenor-backend"}, kEnv, ""}, seen.handlers());
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(std::string(e.what()).rfind("start /nonexistent/avenor-backend: ", 0), 0u)
        << e.what();
  }
  try {
    ChildProcess::spawn(io_, ChildSpec{{"avenor-no-such-command-xyz"}, kEnv, ""}, seen.handlers());
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(std::string(e.what()).rfind("start avenor-no-such-command-xyz: ", 0), 0u);
  }
  // Not executable: exec itself fails in the child and is reported here.
  test::TempDir dir;
  test::write_file(dir / "script", "#!/bin/sh\necho hi\n");
  try {
    ChildProcess::spawn(io_, ChildSpec{{(dir / "script").string()}, kEnv, ""}, seen.handlers());
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::permission_denied) << e.what();
  }
  try {
    ChildProcess::spawn(io_, ChildSpec{{"/bin/true"}, kEnv, (dir / "nope").string()},
                        seen.handlers());
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("start /bin/true: chdir "), std::string::npos) << e.what();
  }
  EXPECT_FALSE(seen.closed.has_value());
}

TEST_F(ChildProcessTest, ReasonCarriesStatusAndStderrTail) {
  Observed seen;
  auto child = sh("echo out; printf '  first problem\\nsecond problem\\n\\n' >&2; exit 3", seen);
  wait_closed(seen);
  EXPECT_EQ(seen.out, "out\n");  // stderr is not mixed into stdout
  EXPECT_EQ(*seen.closed, "process exited with status 3: first problem\nsecond problem");
  EXPECT_EQ(child->stderr_tail(), "  first problem\nsecond problem\n\n");
}

TEST_F(ChildProcessTest, CleanExitStillReportsStderr) {
  Observed seen;
  auto child = sh("echo warning >&2", seen);
  wait_closed(seen);
  EXPECT_EQ(*seen.closed, "process exited: warning");
}

TEST_F(ChildProcessTest, KilledBySignal) {
  Observed seen;
  auto child = sh("kill -9 $$", seen);
  wait_closed(seen);
  EXPECT_EQ(*seen.closed, "process killed by signal 9");
}

TEST_F(ChildProcessTest, StderrTailIsBounded) {
  Observed seen;
  // 40 KiB of stderr; only the last 16 KiB are kept, the reason shows ~2 KiB.
  auto child =
      sh("i=0; while [ $i -lt 1000 ]; do printf '%039d\\n' $i >&2; i=$((i+1)); done", seen);
  wait_closed(seen);
  const std::string tail = child->stderr_tail();
  EXPECT_EQ(tail.size(), ChildProcess::kStderrTailBytes);
  EXPECT_EQ(tail.substr(tail.size() - 40), std::string(36, '0') + "999\n");
  const std::string& reason = *seen.closed;
  EXPECT_EQ(reason.rfind("process exited: ", 0), 0u);
  EXPECT_LE(reason.size(), std::string("process exited: ").size() + ChildProcess::kReasonTailBytes);
  EXPECT_EQ(reason.substr(reason.size() - 3), "999");
}

TEST_F(ChildProcessTest, OverlongLineKillsTheChild) {
  Observed seen;
  // 5 MB without a newline, then the child would keep running.
  auto child = sh("head -c 5000000 /dev/zero; exec sleep 30", seen);
  wait_closed(seen);
  EXPECT_EQ(*seen.closed, "backend output line exceeds the 4 MiB limit");
  EXPECT_LE(seen.out.size(), ChildProcess::kMaxLineBytes);
  expect_reaped(child->pid());
}

TEST_F(ChildProcessTest, ManyShortLinesAreFine) {
  Observed seen;
  auto child = sh("yes | head -c 6000000", seen);
  wait_closed(seen);
  EXPECT_EQ(*seen.closed, "process exited");
  EXPECT_EQ(seen.out.size(), 6000000u);
}

TEST_F(ChildProcessTest, CloseEscalatesToSigkillWhenTermIsIgnored) {
  Observed seen;
  auto child = sh("trap '' TERM; echo ready; while :; do sleep 1; done", seen);
  ASSERT_TRUE(run_until(io_, [&] { return seen.out == "ready\n"; }));
  bool done = false;
  const auto start = std::chrono::steady_clock::now();
  child->close([&] { done = true; });
  ASSERT_TRUE(run_until(
      io_, [&] { return done; }, 10s))
      << "close() did not escalate";
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, ChildProcess::kTermGrace - 100ms);
  EXPECT_EQ(*seen.closed, "process killed by signal 9");
  expect_reaped(child->pid());
}

TEST_F(ChildProcessTest, CloseTerminatesPromptlyWhenTermIsHonoured) {
  Observed seen;
  auto child = sh("echo ready; exec sleep 30", seen);
  ASSERT_TRUE(run_until(io_, [&] { return seen.out == "ready\n"; }));
  bool done = false;
  child->close([&] { done = true; });
  ASSERT_TRUE(run_until(
      io_, [&] { return done; }, 1500ms));
  EXPECT_EQ(*seen.closed, "process killed by signal 15");
}

TEST_F(ChildProcessTest, CloseWithEofGraceLetsTheChildExitOnEof) {
  // The child traps TERM into a non-zero exit, so the reason tells which came
  // first: the EOF (status 0) or the signal (status 7).
  Observed seen;
  ChildSpec spec{
      {"/bin/sh", "-c", "trap 'exit 7' TERM; echo ready; cat >/dev/null; exit 0"}, kEnv, ""};
  spec.eof_grace = 5s;
  auto child = ChildProcess::spawn(io_, spec, seen.handlers());
  ASSERT_TRUE(run_until(io_, [&] { return seen.out == "ready\n"; }));
  bool done = false;
  child->close([&] { done = true; });
  ASSERT_TRUE(run_until(io_, [&] { return done; })) << "close() never completed";
  EXPECT_EQ(*seen.closed, "process exited");
  EXPECT_EQ(child->exit_code(), 0);
}

TEST_F(ChildProcessTest, CloseAfterExitCompletesAsynchronously) {
  Observed seen;
  auto child = sh("exit 0", seen);
  wait_closed(seen);
  bool done = false;
  child->close([&] { done = true; });
  EXPECT_FALSE(done);  // never from inside close()
  ASSERT_TRUE(run_until(io_, [&] { return done; }));
}

TEST_F(ChildProcessTest, WriteToExitedChildDoesNotCrash) {
  Observed seen;
  auto child = sh("exec 0<&-; echo ready; exec sleep 30", seen);
  ASSERT_TRUE(run_until(io_, [&] { return seen.out == "ready\n"; }));
  child->write(std::string(1 << 20, 'x'));  // nobody reads: EPIPE
  ASSERT_TRUE(run_until(io_, [&] { return static_cast<bool>(child->write_error()); }));
  EXPECT_EQ(child->write_error(), std::errc::broken_pipe);
  child->write("more");  // dropped
  child->kill_now("done");
  wait_closed(seen);
}

TEST_F(ChildProcessTest, DestructorKillsAndReaps) {
  Observed seen;
  auto child = sh("echo ready; exec sleep 30", seen);
  ASSERT_TRUE(run_until(io_, [&] { return seen.out == "ready\n"; }));
  const pid_t pid = child->pid();
  child.reset();
  expect_reaped(pid);
  EXPECT_EQ(::kill(pid, 0), -1);
  test::run_for(io_, 20ms);  // aborted handlers run without touching callbacks
  EXPECT_FALSE(seen.closed.has_value());
}

TEST_F(ChildProcessTest, OwnerMayDestroyFromCallback) {
  std::unique_ptr<ChildProcess> child;
  std::string out;
  child = ChildProcess::spawn(io_, ChildSpec{{"/bin/sh", "-c", "echo a; exec sleep 30"}, kEnv, ""},
                              ChildHandlers{[&](std::string_view chunk) {
                                              out.append(chunk);
                                              child.reset();
                                            },
                                            [](std::string) { FAIL() << "closed after reset"; }});
  const pid_t pid = child->pid();
  ASSERT_TRUE(run_until(io_, [&] { return child == nullptr; }));
  test::run_for(io_, 20ms);
  EXPECT_EQ(out, "a\n");
  expect_reaped(pid);
}

}  // namespace
}  // namespace avenor::host
