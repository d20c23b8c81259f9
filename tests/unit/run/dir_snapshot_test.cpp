#include "run/dir_snapshot.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace avenor::host {
namespace {

namespace fs = std::filesystem;

class DirSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dir_snapshot_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void touch(const fs::path& rel) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel) << "x";
  }
  fs::path dir_;
};

TEST_F(DirSnapshotTest, NamesFilesAddedSinceTheSnapshotSkippingGit) {
  touch("old.txt");
  touch("src/old.cpp");
  touch(".git/HEAD");
  const DirSnapshot before = DirSnapshot::take(dir_);
  EXPECT_EQ(before.size(), 2u);
  touch("new.txt");
  touch("src/deep/new.cpp");
  touch(".git/objects/ab");
  fs::create_directories(dir_ / "empty_dir");
  fs::remove(dir_ / "old.txt");  // a deleted file is not an output
  EXPECT_EQ(before.added_in(DirSnapshot::take(dir_)),
            (std::vector<std::string>{"new.txt", "src/deep/new.cpp"}));
}

TEST_F(DirSnapshotTest, StopsAtTheLimit) {
  for (int i = 0; i < 10; ++i) touch("f" + std::to_string(i));
  const DirSnapshot s = DirSnapshot::take(dir_, 4);
  EXPECT_EQ(s.size(), 4u);
  EXPECT_TRUE(s.truncated());
  EXPECT_FALSE(DirSnapshot::take(dir_).truncated());
}

TEST_F(DirSnapshotTest, MissingDirectoryIsEmpty) {
  const DirSnapshot s = DirSnapshot::take(dir_ / "nope");
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.truncated());
}

}  // namespace
}  // namespace avenor::host
