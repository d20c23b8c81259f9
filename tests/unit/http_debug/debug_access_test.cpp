#include "http_debug/debug_access.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "../host/test_support.hpp"

namespace avenor::host {
namespace {

namespace ip = boost::asio::ip;
const std::string kToken = "0123456789abcdef0123456789abcdef";

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode;
}

TEST(DebugUrl, BracketsIpv6) {
  EXPECT_EQ(debug_url({ip::make_address("127.0.0.1"), 4242}), "http://127.0.0.1:4242");
  EXPECT_EQ(debug_url({ip::make_address("::1"), 80}), "http://[::1]:80");
}

TEST(DebugTokenFile, PublishesTheTokenPrivatelyAndRemovesItAtTheEnd) {
  test::TempDir dir;
  const auto path = dir / "token";
  {
    DebugTokenFile file = DebugTokenFile::publish(path, kToken);
    EXPECT_EQ(test::read_file(path), kToken + "\n");
    EXPECT_TRUE(S_ISREG(mode_of(path)));
    EXPECT_EQ(mode_of(path) & 0777, 0600u);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"token"}) << "no temp file left";
    DebugTokenFile moved = std::move(file);
    EXPECT_TRUE(std::filesystem::exists(path)) << "a move does not remove";
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(DebugTokenFile, ReplacesAnOwnRegularFile) {
  test::TempDir dir;
  const auto path = dir / "token";
  test::write_file(path, "stale");
  ::chmod(path.c_str(), 0644);
  DebugTokenFile file = DebugTokenFile::publish(path, kToken);
  EXPECT_EQ(test::read_file(path), kToken + "\n");
  EXPECT_EQ(mode_of(path) & 0777, 0600u);
}

TEST(DebugTokenFile, RefusesASymlinkAndLeavesItsTargetAlone) {
  test::TempDir dir;
  const auto target = dir / "elsewhere";
  test::write_file(target, "keep");
  std::filesystem::create_symlink(target, dir / "token");
  try {
    DebugTokenFile::publish(dir / "token", kToken);
    FAIL() << "a symlink must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "refusing to replace " + (dir / "token").string() + ": not a regular file");
  }
  EXPECT_EQ(test::read_file(target), "keep");
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "token"));
}

TEST(DebugTokenFile, RefusesADirectoryAndAFifo) {
  test::TempDir dir;
  std::filesystem::create_directory(dir / "d");
  EXPECT_THROW(DebugTokenFile::publish(dir / "d", kToken), std::runtime_error);
  ASSERT_EQ(::mkfifo((dir / "f").c_str(), 0600), 0);
  EXPECT_THROW(DebugTokenFile::publish(dir / "f", kToken), std::runtime_error);
  EXPECT_TRUE(std::filesystem::is_directory(dir / "d"));
}

TEST(DebugTokenFile, AMissingDirectoryIsAnError) {
  test::TempDir dir;
  EXPECT_THROW(DebugTokenFile::publish(dir / "no" / "token", kToken), std::runtime_error);
}

TEST(DebugTokenFile, LeavesAFileThatReplacedIt) {
  test::TempDir dir;
  const auto path = dir / "token";
  {
    DebugTokenFile file = DebugTokenFile::publish(path, kToken);
    // Moved aside, not deleted, so the new file cannot reuse its inode.
    std::filesystem::rename(path, dir / "aside");
    test::write_file(path, "someone else's");
  }
  EXPECT_EQ(test::read_file(path), "someone else's");
}

}  // namespace
}  // namespace avenor::host
