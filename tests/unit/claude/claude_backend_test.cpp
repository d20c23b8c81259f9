#include "claude/claude_backend.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/testing/fake_host.hpp>
#include <memory>
#include <string>

namespace {

using namespace avenor::claude;
using avenor::sdk::PermissionAnswer;
using avenor::sdk::StartOptions;
namespace bj = boost::json;
namespace json = avenor::sdk::json;

constexpr std::string_view kSid = "00000000-0000-4000-8000-000000000000";

class ClaudeBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend = std::make_unique<ClaudeBackend>(fake.host(), StartOptions{},
                                              SessionIds([] { return std::uint64_t{0}; }));
  }
  void feed(std::string_view line) { backend->on_bytes(std::string(line) + "\n"); }
  void respond_control(const bj::object& request, std::string_view subtype = "success") {
    feed(R"({"type":"control_response","response":{"subtype":")" + std::string(subtype) +
         R"(","request_id":")" + json::string_or(request, "request_id") + R"("}})");
  }
  bj::object only_message() {
    auto m = fake.take_messages();
    EXPECT_EQ(m.size(), 1u);
    return m.empty() ? bj::object{} : m.front();
  }

  // A new session: initialize, claude's answer.
  std::uint64_t start() {
    backend->start_session(fake.op(), std::nullopt);
    std::uint64_t op = fake.last_op();
    auto init = json::parse(fake.take_bytes()).as_object();
    EXPECT_EQ(init.at("request"), json::parse(R"({"subtype":"initialize"})"));
    EXPECT_FALSE(fake.is_finished(op)) << "the start waits for initialize";
    respond_control(init);
    EXPECT_TRUE(fake.is_completed(op));
    return op;
  }
  std::uint64_t prompt(std::string text = "hello") {
    backend->prompt(fake.op(), std::string(kSid), text);
    std::uint64_t op = fake.last_op();
    auto m = only_message();
    EXPECT_EQ(m.at("type"), "user");
    EXPECT_EQ(m.at("message"), json::parse(R"({"role":"user","content":")" + text + R"("})"));
    return op;
  }

  avenor::sdk::testing::FakeHost fake;
  std::unique_ptr<ClaudeBackend> backend;
};

constexpr std::string_view kResult =
    R"({"type":"result","subtype":"success","is_error":false,"result":"DONE","stop_reason":"end_turn","total_cost_usd":0.1,"usage":{"input_tokens":1,"output_tokens":2}})";
constexpr std::string_view kInterrupted =
    R"({"type":"result","subtype":"error_during_execution","is_error":true,"stop_reason":null,"terminal_reason":"aborted_streaming","usage":{}})";
constexpr std::string_view kCanUseTool =
    R"({"type":"control_request","request_id":"R1","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"touch x"},"tool_use_id":"toolu_1"}})";

TEST_F(ClaudeBackendTest, TextTurn) {
  start();
  auto op = prompt();
  feed(
      R"({"type":"system","subtype":"init","session_id":"00000000-0000-4000-8000-000000000000","model":"m","claude_code_version":"2.1.197","tools":["Bash"]})");
  feed(R"({"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_1"}}})");
  feed(
      R"({"type":"stream_event","event":{"type":"content_block_delta","delta":{"type":"text_delta","text":"DO"}}})");
  feed(
      R"({"type":"assistant","message":{"id":"msg_1","content":[{"type":"text","text":"DONE"}]}})");
  EXPECT_FALSE(fake.is_finished(op));
  feed(kResult);
  EXPECT_TRUE(fake.is_completed(op));
  EXPECT_EQ(fake.event_names(),
            (std::vector<std::string>{"avenor.system.init", "agent.message_chunk", "session.end"}));
  auto end = fake.take_events().back();
  EXPECT_EQ(end.at("session_id"), bj::value(kSid));
  EXPECT_EQ(end.at("final_output"), "DONE");
}

std::unique_ptr<ClaudeBackend> backend_for(avenor::sdk::testing::FakeHost& fake,
                                           std::string resume) {
  StartOptions o;
  o.resume_session_id = std::move(resume);
  return std::make_unique<ClaudeBackend>(fake.host(), o,
                                         SessionIds([] { return std::uint64_t{0}; }));
}

TEST_F(ClaudeBackendTest, ANewSessionIsNamedOnTheCommandLine) {
  const auto argv = backend->launch().argv;
  ASSERT_GE(argv.size(), 2u);
  EXPECT_EQ(argv[argv.size() - 2], "--session-id");
  EXPECT_EQ(argv.back(), kSid);
}

TEST_F(ClaudeBackendTest, ResumeIsNamedOnTheCommandLineFromTheStartOptions) {
  auto resumed = backend_for(fake, "abc-1");
  const auto argv = resumed->launch().argv;
  EXPECT_EQ(std::vector<std::string>(argv.end() - 2, argv.end()),
            (std::vector<std::string>{"--resume", "abc-1"}));
  // Another session than the one the process was started for needs a new process.
  resumed->start_session(fake.op(), std::string("abc-2"));
  EXPECT_NE(fake.failure(fake.last_op()).find("needs a new process"), std::string::npos);
  resumed->start_session(fake.op(), std::string("abc-1"));
  const auto op = fake.last_op();
  backend = std::move(resumed);  // respond_control feeds `backend`
  respond_control(json::parse(fake.take_bytes()).as_object());
  EXPECT_TRUE(fake.is_completed(op));
}

TEST_F(ClaudeBackendTest, AnInvalidResumeIdFailsTheLaunch) {
  auto bad = backend_for(fake, "--bad id");
  EXPECT_THROW(bad->launch(), std::runtime_error);
}

TEST_F(ClaudeBackendTest, OneSessionPerProcess) {
  start();
  backend->start_session(fake.op(), std::string(kSid));
  EXPECT_TRUE(fake.is_completed(fake.last_op()));
  backend->start_session(fake.op(), std::string("other"));
  EXPECT_NE(fake.failure(fake.last_op()).find("one session per process"), std::string::npos);
  backend->start_session(fake.op(), std::nullopt);
  EXPECT_TRUE(fake.is_failed(fake.last_op()));
}

TEST_F(ClaudeBackendTest, ClaudeExitingDuringTheStartFailsIt) {
  backend = backend_for(fake, "0badc0de");
  backend->start_session(fake.op(), std::string("0badc0de"));
  auto op = fake.last_op();
  backend->on_closed("exit status 1");
  EXPECT_NE(fake.failure(op).find("claude exited: exit status 1"), std::string::npos);
}

TEST_F(ClaudeBackendTest, PermissionAllowedWithTheInputUnchanged) {
  start();
  prompt();
  feed(kCanUseTool);
  auto events = fake.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("event"), "permission.request");
  PermissionAnswer a;
  a.session_id = std::string(kSid);
  a.request_id = "R1";
  a.allow = true;
  a.option_id = "allow";
  backend->answer_permission(fake.op(), a);
  EXPECT_TRUE(fake.is_completed(fake.last_op()));
  EXPECT_EQ(only_message(), json::parse(R"({"type":"control_response","response":{
      "subtype":"success","request_id":"R1","response":{"behavior":"allow",
      "updatedInput":{"command":"touch x"}}}})"));
  backend->answer_permission(fake.op(), a);
  EXPECT_TRUE(fake.is_failed(fake.last_op()));
}

TEST_F(ClaudeBackendTest, CancelInterruptsAndCompletesWithTheResult) {
  start();
  auto turn = prompt();
  feed(kCanUseTool);
  fake.take_events();
  backend->cancel(fake.op(), std::string(kSid));
  auto cancel = fake.last_op();
  auto lines = fake.take_messages();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].at("response").at("response").at("behavior"), "deny");
  EXPECT_EQ(lines[1].at("request"), json::parse(R"({"subtype":"interrupt"})"));
  respond_control(lines[1]);
  EXPECT_FALSE(fake.is_finished(cancel)) << "the cancel waits for claude's result";
  feed(kInterrupted);
  EXPECT_TRUE(fake.is_completed(cancel));
  EXPECT_EQ(fake.failure(turn), "claude: the turn was cancelled");
  EXPECT_EQ(fake.take_events().back().at("stop_reason"), "cancelled");
  // the process keeps the session: another turn works
  auto again = prompt("next");
  feed(kResult);
  EXPECT_TRUE(fake.is_completed(again));
}

TEST_F(ClaudeBackendTest, CancelWithoutATurnIsFree) {
  start();
  backend->cancel(fake.op(), std::string(kSid));
  EXPECT_TRUE(fake.is_completed(fake.last_op()));
  EXPECT_EQ(fake.take_bytes(), "");
}

TEST_F(ClaudeBackendTest, ModelErrorFailsThePrompt) {
  start();
  auto op = prompt();
  feed(
      R"({"type":"result","subtype":"success","is_error":true,"result":"API Error: 500 x","stop_reason":"stop_sequence"})");
  EXPECT_EQ(fake.failure(op), "API Error: 500 x");
  EXPECT_EQ(fake.take_events().back().at("stop_reason"), "error");
}

TEST_F(ClaudeBackendTest, ExitMidTurnFailsIt) {
  start();
  auto op = prompt();
  backend->on_closed("signal 9");
  EXPECT_EQ(fake.failure(op), "claude exited: signal 9");
  backend->prompt(fake.op(), std::string(kSid), "x");
  EXPECT_TRUE(fake.is_failed(fake.last_op()));
}

TEST_F(ClaudeBackendTest, BadLinesAreSkippedAndOtherControlRequestsRefused) {
  start();
  auto op = prompt();
  feed("not json");
  feed("[1]");
  feed(R"({"type":"control_request","request_id":"H1","request":{"subtype":"hook_callback"}})");
  auto refusal = only_message();
  EXPECT_EQ(refusal.at("response").at("subtype"), "error");
  EXPECT_EQ(refusal.at("response").at("request_id"), "H1");
  feed(kResult);
  EXPECT_TRUE(fake.is_completed(op));
  EXPECT_TRUE(fake.fatals.empty());
}

TEST_F(ClaudeBackendTest, PromptChecks) {
  backend->prompt(fake.op(), "nope", "x");
  EXPECT_TRUE(fake.is_failed(fake.last_op()));
  start();
  prompt();
  backend->prompt(fake.op(), std::string(kSid), "second");
  EXPECT_NE(fake.failure(fake.last_op()).find("already running"), std::string::npos);
}

TEST_F(ClaudeBackendTest, ServerUrlIsRefused) {
  StartOptions o;
  o.server_url = "http://127.0.0.1:1";
  ClaudeBackend b(fake.host(), o);
  b.start_session(fake.op(), std::nullopt);
  EXPECT_NE(fake.failure(fake.last_op()).find("external server URL"), std::string::npos);
}

}  // namespace
