#include "stable/state_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <sstream>

#include "../host/test_support.hpp"
#include "util/sha256.hpp"

namespace avenor::host {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(StateFiles, DefaultStateDirIsKeyedBySocketPath) {
  ScopedEnv env("TMPDIR", "/some/tmp");
  const fs::path dir = default_state_dir("/run/user/sock.sock");
  EXPECT_EQ(dir,
            fs::path("/some/tmp/avenor-stable") / sha256_hex("/run/user/sock.sock").substr(0, 16));
  // The same socket spelled differently maps to the same directory.
  EXPECT_EQ(default_state_dir("/run/user/./x/../sock.sock"), dir);
  EXPECT_NE(default_state_dir("/run/user/other.sock"), dir);
}

TEST(StateFiles, DefaultStateDirUsesAbsolutePathAndTmpFallback) {
  ScopedEnv env("TMPDIR", nullptr);
  const fs::path expected_key =
      sha256_hex((fs::current_path() / "rel.sock").string()).substr(0, 16);
  EXPECT_EQ(default_state_dir("rel.sock"), fs::path("/tmp/avenor-stable") / expected_key);
  ScopedEnv empty("TMPDIR", "");
  EXPECT_EQ(default_state_dir("rel.sock"), fs::path("/tmp/avenor-stable") / expected_key);
}

TEST(StateFiles, PrepareStateDirCreatesParentsWith0700) {
  TempDir tmp;
  const fs::path dir = tmp / "a/b/state";
  prepare_state_dir(dir);
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(mode_of(tmp / "a"), 0700u);
  EXPECT_EQ(mode_of(tmp / "a/b"), 0700u);
  EXPECT_EQ(mode_of(dir), 0700u);
  // Idempotent.
  EXPECT_NO_THROW(prepare_state_dir(dir));
}

TEST(StateFiles, PrepareStateDirTightensAnExistingDirectoryButNotItsParent) {
  TempDir tmp;
  fs::create_directories(tmp / "shared/state");
  ::chmod((tmp / "shared").c_str(), 0755);
  ::chmod((tmp / "shared/state").c_str(), 0755);
  prepare_state_dir(tmp / "shared/state");
  EXPECT_EQ(mode_of(tmp / "shared/state"), 0700u);
  EXPECT_EQ(mode_of(tmp / "shared"), 0755u);
}

TEST(StateFiles, PrepareStateDirRefusesSymlinkAndFile) {
  TempDir tmp;
  fs::create_directory(tmp / "real");
  ::chmod((tmp / "real").c_str(), 0755);
  fs::create_directory_symlink(tmp / "real", tmp / "link");
  try {
    prepare_state_dir(tmp / "link");
    FAIL() << "a symlinked state directory was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
  }
  EXPECT_EQ(mode_of(tmp / "real"), 0755u) << "the symlink's target was modified";

  test::write_file(tmp / "file", "x");
  try {
    prepare_state_dir(tmp / "file");
    FAIL() << "a regular file was accepted as state directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not a directory"), std::string::npos) << e.what();
  }
}

TEST(StateFiles, PrepareRuntimeDir) {
  TempDir tmp;
  prepare_state_dir(tmp / "state");
  const fs::path rt = prepare_runtime_dir(tmp / "state", "rt_1");
  EXPECT_EQ(rt, tmp / "state" / "rt_1");
  EXPECT_EQ(mode_of(rt), 0700u);
  test::write_file(rt / "keep", "x");
  ::chmod(rt.c_str(), 0750);
  EXPECT_EQ(prepare_runtime_dir(tmp / "state", "rt_1"), rt);  // reused
  EXPECT_TRUE(fs::exists(rt / "keep"));
  EXPECT_EQ(mode_of(rt), 0700u);

  fs::create_directory(tmp / "elsewhere");
  fs::create_directory_symlink(tmp / "elsewhere", tmp / "state" / "rt_2");
  EXPECT_THROW(prepare_runtime_dir(tmp / "state", "rt_2"), std::runtime_error);
  EXPECT_THROW(prepare_runtime_dir(tmp / "state", "../x"), std::runtime_error);
  EXPECT_THROW(prepare_runtime_dir(tmp / "state", ""), std::runtime_error);
}

TEST(StateFiles, TombstoneFormatAndMode) {
  TempDir tmp;
  std::ostringstream err;
  ASSERT_TRUE(write_tombstone(tmp / "ctl.sock", "shutdown", err)) << err.str();
  EXPECT_EQ(err.str(), "");
  const fs::path dead = tmp / "ctl.sock.dead";
  EXPECT_EQ(mode_of(dead), 0644u);
  const std::string text = test::read_file(dead);
  const std::regex format(
      R"(STOPPED reason=shutdown pid=(\d+) at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(text, m, format)) << text;
  EXPECT_EQ(m[1].str(), std::to_string(::getpid()));
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"ctl.sock.dead"}) << "a temp file was left";

  // Replaced, not appended.
  ASSERT_TRUE(write_tombstone(tmp / "ctl.sock", "idle", err));
  EXPECT_EQ(test::read_file(dead).rfind("STOPPED reason=idle ", 0), 0u);
}

TEST(StateFiles, TombstoneFailureIsReportedInOneLine) {
  TempDir tmp;
  std::ostringstream err;
  EXPECT_FALSE(write_tombstone(tmp / "missing-dir" / "ctl.sock", "start_failed", err));
  const std::string text = err.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.find('\n'), text.size() - 1) << text;
  EXPECT_NE(text.find("ctl.sock.dead"), std::string::npos) << text;
}

TEST(StateFiles, RemoveTombstoneOnlyRemovesRegularFiles) {
  TempDir tmp;
  test::write_file(tmp / "a.sock.dead", "STOPPED\n");
  remove_tombstone(tmp / "a.sock");
  EXPECT_FALSE(fs::exists(tmp / "a.sock.dead"));

  ASSERT_EQ(::mkfifo((tmp / "b.sock.dead").c_str(), 0600), 0);
  remove_tombstone(tmp / "b.sock");
  EXPECT_TRUE(fs::is_fifo(tmp / "b.sock.dead"));

  test::write_file(tmp / "target", "keep");
  fs::create_symlink(tmp / "target", tmp / "c.sock.dead");
  remove_tombstone(tmp / "c.sock");
  EXPECT_TRUE(fs::is_symlink(tmp / "c.sock.dead"));
  EXPECT_TRUE(fs::exists(tmp / "target"));

  fs::create_directory(tmp / "d.sock.dead");
  remove_tombstone(tmp / "d.sock");
  EXPECT_TRUE(fs::is_directory(tmp / "d.sock.dead"));

  EXPECT_NO_THROW(remove_tombstone(tmp / "none.sock"));
}

}  // namespace
}  // namespace avenor::host
