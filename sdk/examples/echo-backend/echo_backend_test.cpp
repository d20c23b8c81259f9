// The echo plugin's unit test: the compiled echo.so is loaded and driven
// through the real C boundary by the SDK's fake host, which plays the host,
// the event loop and `cat` itself. Plain checks and no test framework, so a
// third party needs nothing beyond the SDK to build and run it:
//   echo_backend_test <path to echo.so>        (ctest runs it so)
#include <avenor/sdk/testing/fake_host.hpp>
#include <avenor/sdk/testing/plugin_driver.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

// Unlike assert(), also checks in a release build.
#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::exit(1);                                                                 \
    }                                                                               \
  } while (false)

using avenor::sdk::testing::FakeHost;
using avenor::sdk::testing::Instance;
using avenor::sdk::testing::Plugin;

boost::json::value J(std::string_view text) { return avenor::sdk::json::parse(text); }

void test_descriptor(const Plugin& plugin) {
  CHECK(plugin.name() == "echo");
  CHECK(plugin.version() == "1.0.0");
  CHECK(plugin.backends().size() == 1);
  CHECK(std::string(plugin.backends()[0]->name) == "echo");
  CHECK(std::string(plugin.backends()[0]->cli) == "cat");
}

void test_a_turn(const Plugin& plugin) {
  FakeHost host;
  Instance echo(plugin, host, "echo", {{"dir", "/tmp"}});
  CHECK(echo.launch_spec().at("argv") == J(R"(["cat"])"));

  auto start = echo.start_session();
  CHECK(host.completed[start] == J(R"({"session_id":"echo-session"})"));

  auto turn = echo.prompt("echo-session", "hello\nthere");
  CHECK(host.take_bytes() == "hello there\n");  // one prompt, one line on cat's stdin
  CHECK(!host.is_finished(turn));

  // cat answers the line, cut in two reads.
  echo.feed("hello ");
  CHECK(host.events.empty());
  echo.feed("there\n");
  CHECK((host.event_names() == std::vector<std::string>{"agent.message_chunk", "session.end"}));
  CHECK(host.events[0].at("content").at("text") == "echo: hello there");
  CHECK(host.events[1].at("stop_reason") == "end_turn");
  CHECK(host.is_completed(turn));
  CHECK(host.problems.empty());  // every event kept the ABI's promises
}

void test_resume_and_refusals(const Plugin& plugin) {
  FakeHost host;
  Instance echo(plugin, host, "echo");
  auto resumed = echo.resume_session("ses-7");
  CHECK(host.completed[resumed] == J(R"({"session_id":"ses-7"})"));
  auto answer = echo.answer_permission({{"session_id", "ses-7"}, {"request_id", "r1"}});
  CHECK(host.failure(answer) == "the echo backend never asks for permission");
}

void test_cat_exits_mid_turn(const Plugin& plugin) {
  FakeHost host;
  Instance echo(plugin, host, "echo");
  auto turn = echo.prompt("echo-session", "bye");
  echo.close("exit code 1");
  CHECK(host.failure(turn) == "echo backend exited: exit code 1");
  CHECK(host.finished_twice().empty());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: echo_backend_test <path to echo.so>\n");
    return 2;
  }
  try {
    Plugin plugin = Plugin::load(argv[1]);
    test_descriptor(plugin);
    test_a_turn(plugin);
    test_resume_and_refusals(plugin);
    test_cat_exits_mid_turn(plugin);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_backend_test: %s\n", e.what());
    return 1;
  }
  std::puts("echo_backend_test: all checks passed");
  return 0;
}
