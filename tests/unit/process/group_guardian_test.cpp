// GroupGuardian: a released guardian leaves the group alone; an owner that
// dies without releasing takes the whole group with it; the guardian holds
// none of its owner's descriptors.
#include "process/group_guardian.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace avenor::host {
namespace {

using namespace std::chrono_literals;

// The /proc state letter of `pid`; 0 when it no longer exists.
char state_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return 0;
  return text[paren + 2];
}

bool alive(pid_t pid) {
  const char s = state_of(pid);
  return s != 0 && s != 'Z' && s != 'X';
}

// Polls `done` every 5 ms for up to `limit`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A process that leads its own group and sleeps until killed.
pid_t start_group_leader() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    for (;;) ::pause();
  }
  ::setpgid(pid, pid);
  return pid;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// Live members of process group `pgid` other than `except`, by /proc scan.
std::vector<pid_t> members(pid_t pgid, pid_t except) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (pid != except && ::getpgid(pid) == pgid && alive(pid)) found.push_back(pid);
  }
  return found;
}

int other_members(pid_t pgid, pid_t except) {
  return static_cast<int>(members(pgid, except).size());
}

std::string cmdline_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(GroupGuardian, ReleasedGuardianExitsAndLeavesTheGroupAlone) {
  const pid_t leader = start_group_leader();
  {
    GroupGuardian guardian = GroupGuardian::start(leader);
    ASSERT_TRUE(guardian.active());
    const std::vector<pid_t> guardians = members(leader, leader);
    ASSERT_EQ(guardians.size(), 1u) << "the guardian joins the group";
    // Not mistaken for the owner (`avenor run …`) by whoever lists processes
    // (it retitles itself right after the fork).
    EXPECT_TRUE(eventually([&] { return cmdline_of(guardians[0]).starts_with("avenor-guard"); }))
        << cmdline_of(guardians[0]);
    guardian.release();
    EXPECT_FALSE(guardian.active());
  }
  EXPECT_TRUE(eventually([&] { return other_members(leader, leader) == 0; }))
      << "a released guardian must exit";
  EXPECT_TRUE(alive(leader)) << "a released guardian must not kill the group";
  kill_and_reap(leader);
}

TEST(GroupGuardian, OwnerDeathKillsTheWholeGroup) {
  // The owner is a child of the test, so the test can SIGKILL it like a
  // crashed avenor; it reports its group leader's pid through a pipe.
  std::array<int, 2> report{};
  ASSERT_EQ(::pipe(report.data()), 0);
  const pid_t owner = ::fork();
  if (owner == 0) {
    ::close(report[0]);
    const pid_t leader = start_group_leader();
    GroupGuardian guardian = GroupGuardian::start(leader);
    const pid_t sent = guardian.active() ? leader : -1;
    [[maybe_unused]] ssize_t n = ::write(report[1], &sent, sizeof sent);
    for (;;) ::pause();
  }
  ::close(report[1]);
  pid_t leader = 0;
  ASSERT_EQ(::read(report[0], &leader, sizeof leader), static_cast<ssize_t>(sizeof leader));
  ::close(report[0]);
  ASSERT_GT(leader, 0) << "the owner could not start a guardian";
  ASSERT_TRUE(alive(leader));

  kill_and_reap(owner);
  EXPECT_TRUE(eventually([&] { return !alive(leader) && other_members(leader, -1) == 0; }))
      << "group " << leader << " outlived its owner";
}

TEST(GroupGuardian, HoldsNoneOfTheOwnersDescriptors) {
  // A backend's stdout must reach EOF when the backend exits, so the
  // guardian may not keep a copy of any pipe end the owner has open.
  const pid_t leader = start_group_leader();  // before the pipe: it must not hold it
  std::array<int, 2> fds{};
  ASSERT_EQ(::pipe(fds.data()), 0);
  GroupGuardian guardian = GroupGuardian::start(leader);
  ASSERT_TRUE(guardian.active());
  ::close(fds[1]);
  pollfd p{fds[0], POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the write end stayed open somewhere";
  char byte = 0;
  EXPECT_EQ(::read(fds[0], &byte, 1), 0);
  ::close(fds[0]);
  guardian.release();
  kill_and_reap(leader);
}

TEST(GroupGuardian, StartOnAMissingGroupIsInactive) {
  const pid_t leader = start_group_leader();
  kill_and_reap(leader);  // the group is gone now
  EXPECT_FALSE(GroupGuardian::start(leader).active());
}

}  // namespace
}  // namespace avenor::host
