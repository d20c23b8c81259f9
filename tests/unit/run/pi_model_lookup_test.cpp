// The pi half of the agent→model lookup (cli.md §3.13): agents.json in pi's
// agent dir, every error ignored.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "run/model_lookup.hpp"

namespace avenor::host {
namespace {

namespace fs = std::filesystem;

// Sets (or unsets) one environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
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

class PiModelLookup : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("avenor-pi-lookup-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  fs::path root_;
};

TEST_F(PiModelLookup, ReadsAgentsJsonInPiCodingAgentDir) {
  write(root_ / "agent" / "agents.json", R"({"reviewer":{"model":"fake/other-model"},"plain":{}})");
  ScopedEnv dir("PI_CODING_AGENT_DIR", (root_ / "agent").string());
  EXPECT_EQ(lookup_agent_model("pi", "reviewer"), "fake/other-model");
  EXPECT_EQ(lookup_agent_model("pi", "plain"), "");
  EXPECT_EQ(lookup_agent_model("pi", "nobody"), "");
  EXPECT_EQ(lookup_agent_model("codex-app-server", "reviewer"), "") << "pi's file only for pi";
}

TEST_F(PiModelLookup, DefaultsToTheHomeAgentDir) {
  write(root_ / "home" / ".pi" / "agent" / "agents.json", R"({"reviewer":{"model":"m1"}})");
  ScopedEnv dir("PI_CODING_AGENT_DIR", std::nullopt);
  ScopedEnv home("HOME", (root_ / "home").string());
  EXPECT_EQ(lookup_agent_model("pi", "reviewer"), "m1");
}

TEST_F(PiModelLookup, ErrorsAreIgnored) {
  ScopedEnv dir("PI_CODING_AGENT_DIR", (root_ / "agent").string());
  EXPECT_EQ(lookup_agent_model("pi", "reviewer"), "") << "missing file";
  write(root_ / "agent" / "agents.json", "{not json");
  EXPECT_NO_THROW(EXPECT_EQ(lookup_agent_model("pi", "reviewer"), ""));
  write(root_ / "agent" / "agents.json", R"(["reviewer"])");
  EXPECT_EQ(lookup_agent_model("pi", "reviewer"), "");
  write(root_ / "agent" / "agents.json", R"({"reviewer":{"model":42}})");
  EXPECT_EQ(lookup_agent_model("pi", "reviewer"), "");
  fs::remove(root_ / "agent" / "agents.json");
  fs::create_directories(root_ / "agent" / "agents.json");  // a directory: unreadable
  EXPECT_NO_THROW(EXPECT_EQ(lookup_agent_model("pi", "reviewer"), ""));
}

}  // namespace
}  // namespace avenor::host
