#include "codex/codex_backend.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/testing/fake_host.hpp>
#include <memory>
#include <string>

namespace {

namespace bj = boost::json;
using avenor::codex::CodexBackend;
using avenor::sdk::PermissionAnswer;
using avenor::sdk::StartOptions;

bj::value J(std::string_view text) { return avenor::sdk::json::parse(text); }
bj::object O(std::string_view text) { return J(text).as_object(); }

// Start options with only the fields a test cares about.
StartOptions with(std::string_view field, std::string value) {
  StartOptions o;
  if (field == "model") o.model = std::move(value);
  if (field == "thinking") o.thinking = std::move(value);
  if (field == "server_url") o.server_url = std::move(value);
  return o;
}

class CodexBackendTest : public ::testing::Test {
 protected:
  void make(StartOptions options = {}) {
    if (options.dir.empty()) options.dir = "/work/proj/";
    backend = std::make_unique<CodexBackend>(
        fake.host(), std::move(options), [](std::int64_t n) { return "t-" + std::to_string(n); });
  }

  void feed(std::string_view line) { backend->on_bytes(std::string(line) + "\n"); }
  void result(std::string_view id, std::string_view result_json) {
    feed(R"({"id":")" + std::string(id) + R"(","result":)" + std::string(result_json) + "}");
  }
  void error(std::string_view id, std::string_view message) {
    feed(R"({"id":")" + std::string(id) + R"(","error":{"code":-32600,"message":")" +
         std::string(message) + R"("}})");
  }
  std::vector<bj::object> sent() { return fake.take_messages(); }
  bj::object sent_one() {
    auto messages = sent();
    EXPECT_EQ(messages.size(), 1u);
    return messages.empty() ? bj::object() : messages.front();
  }

  // initialize (t-1), initialized, thread/start (t-2) -> thread "thr_1".
  void start() {
    auto op = fake.op();
    backend->start_session(op, std::nullopt);
    EXPECT_EQ(sent_one(), O(R"({"id":"t-1","method":"initialize","params":{"clientInfo":)"
                            R"({"name":"avenor","version":"0.0.0"},)"
                            R"("capabilities":{"experimentalApi":true}}})"));
    result("t-1", R"({"userAgent":"avenor/0.169.0"})");
    auto messages = sent();
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0], O(R"({"method":"initialized"})"));
    EXPECT_EQ(messages[1]["method"], "thread/start");
    EXPECT_EQ(messages[1]["id"], "t-2");
    result("t-2", R"({"thread":{"id":"thr_1"},"approvalPolicy":"on-request"})");
    EXPECT_EQ(fake.completed.at(op.id()), J(R"({"session_id":"thr_1"})"));
  }

  // turn/start (id `rpc`) answered with turn `turn`; returns the prompt op id.
  std::uint64_t prompt(std::string_view rpc, std::string_view turn) {
    auto op = fake.op();
    backend->prompt(op, "thr_1", "hello");
    auto request = sent_one();
    EXPECT_EQ(std::string_view(request["id"].as_string()), rpc);
    EXPECT_EQ(request["method"], "turn/start");
    result(rpc, R"({"turn":{"id":")" + std::string(turn) + R"(","status":"inProgress"}})");
    return op.id();
  }

  void completed(std::string_view turn, std::string_view status, std::string_view error = "null") {
    feed(R"({"method":"turn/completed","params":{"threadId":"thr_1","turn":{"id":")" +
         std::string(turn) + R"(","status":")" + std::string(status) + R"(","error":)" +
         std::string(error) + "}}}");
  }

  avenor::sdk::testing::FakeHost fake;
  std::unique_ptr<CodexBackend> backend;
};

TEST_F(CodexBackendTest, LaunchesCodexAppServerPlainly) {
  make();
  auto spec = backend->launch();
  EXPECT_EQ(spec.argv, (std::vector<std::string>{"codex", "app-server"}));
  EXPECT_TRUE(spec.env.empty());
  EXPECT_TRUE(spec.cwd.empty());
}

TEST_F(CodexBackendTest, ThreadStartCarriesCwdAndModel) {
  make(with("model", "gpt-x"));
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  sent();
  result("t-1", "{}");
  auto messages = sent();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1], O(R"({"id":"t-2","method":"thread/start",)"
                           R"("params":{"cwd":"/work/proj","model":"gpt-x"}})"));
  result("t-2", R"({"thread":{}})");
  EXPECT_EQ(fake.failure(op.id()), "thread/start response missing thread.id");
}

TEST_F(CodexBackendTest, HandshakeFailureFailsEveryWaitingStart) {
  make();
  auto a = fake.op(), b = fake.op();
  backend->start_session(a, std::nullopt);
  backend->start_session(b, std::nullopt);
  EXPECT_EQ(sent().size(), 1u) << "one handshake for both";
  error("t-1", "not now");
  EXPECT_EQ(fake.failure(a.id()), "initialize: not now");
  EXPECT_EQ(fake.failure(b.id()), "initialize: not now");
}

TEST_F(CodexBackendTest, ServerUrlIsRejected) {
  make(with("server_url", "http://127.0.0.1:1"));
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  EXPECT_EQ(fake.failure(op.id()),
            "external server URL transport is not implemented by the stdio client");
  EXPECT_TRUE(sent().empty());
}

TEST_F(CodexBackendTest, TextTurnEndsWithSessionEndThenCompletes) {
  make();
  start();
  fake.take_events();
  auto op = prompt("t-3", "turn_1");
  feed(R"({"method":"turn/started","params":{"threadId":"thr_1","turn":{"id":"turn_1"}}})");
  feed(R"({"method":"item/agentMessage/delta","params":{"threadId":"thr_1","turnId":"turn_1",)"
       R"("itemId":"m1","delta":"hi"}})");
  EXPECT_FALSE(fake.is_finished(op));
  completed("turn_1", "completed");
  EXPECT_TRUE(fake.is_completed(op));
  auto events = fake.take_events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["event"], "avenor.turn.start");
  EXPECT_EQ(events[1]["event"], "agent.message_chunk");
  EXPECT_EQ(events[2], O(R"({"event":"session.end","session_id":"thr_1","turn_id":"turn_1",)"
                         R"("reason":"completed","stop_reason":"end_turn"})"));
  // session.end is emitted before the prompt completes
  EXPECT_EQ(fake.trace.back(), "complete:" + std::to_string(op));
}

TEST_F(CodexBackendTest, FailedAndInterruptedTurnsFailThePrompt) {
  make();
  start();
  auto failed = prompt("t-3", "turn_1");
  completed("turn_1", "failed", R"({"message":"high demand"})");
  EXPECT_EQ(fake.failure(failed), "turn failed: high demand");
  EXPECT_EQ(fake.failed.at(failed).kind, AVENOR_FAILURE_ERROR);
  auto interrupted = prompt("t-4", "turn_2");
  completed("turn_2", "interrupted");
  EXPECT_EQ(fake.failure(interrupted), "turn cancelled");
  EXPECT_EQ(fake.failed.at(interrupted).kind, AVENOR_FAILURE_CANCELLED);
}

TEST_F(CodexBackendTest, CompletionBeforeTheTurnStartResponseIsBuffered) {
  make();
  start();
  auto op = fake.op();
  backend->prompt(op, "thr_1", "hello");
  sent();
  completed("turn_9", "completed");
  EXPECT_FALSE(fake.is_finished(op.id()));
  result("t-3", R"({"turn":{"id":"turn_9"}})");
  EXPECT_TRUE(fake.is_completed(op.id()));
}

TEST_F(CodexBackendTest, EffortOnEveryTurnAndInTurnStartErrors) {
  make(with("thinking", "high"));
  start();
  auto op = fake.op();
  backend->prompt(op, "thr_1", "hi");
  auto request = sent_one();
  EXPECT_EQ(request["params"], J(R"({"threadId":"thr_1","input":[{"type":"text","text":"hi"}],)"
                                 R"("effort":"high"})"));
  error("t-3", "unsupported effort");
  EXPECT_EQ(fake.failure(op.id()), R"(turn/start: unsupported effort (requested effort "high"))");
  auto again = fake.op();
  backend->prompt(again, "thr_1", "hi");
  EXPECT_EQ(sent_one()["params"].as_object()["effort"], "high");
}

TEST_F(CodexBackendTest, ResumeOfAKnownThreadOnlyResetsTheEffort) {
  make();
  start();
  auto op = fake.op();
  backend->start_session(op, std::string("thr_1"));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(fake.completed.at(op.id()), J(R"({"session_id":"thr_1"})"));
  backend->prompt(fake.op(), "thr_1", "x");
  EXPECT_FALSE(sent_one()["params"].as_object().contains("effort"));
}

TEST_F(CodexBackendTest, ResumeOfAnUnknownThreadAsksCodex) {
  make(with("thinking", "low"));
  auto op = fake.op();
  backend->start_session(op, std::string("thr_old"));
  sent();
  result("t-1", "{}");
  auto messages = sent();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1], O(R"({"id":"t-2","method":"thread/resume",)"
                           R"("params":{"threadId":"thr_old","excludeTurns":true}})"));
  result("t-2", R"({"thread":{"id":"thr_old"}})");
  EXPECT_EQ(fake.completed.at(op.id()), J(R"({"session_id":"thr_old"})"));
  backend->prompt(fake.op(), "thr_old", "x");
  EXPECT_EQ(sent_one()["params"].as_object()["effort"], "low");

  auto missing = fake.op();
  backend->start_session(missing, std::string("thr_gone"));
  error("t-4", "no rollout found for thread id thr_gone");
  EXPECT_EQ(fake.failure(missing.id()), "thread/resume: no rollout found for thread id thr_gone");
}

TEST_F(CodexBackendTest, CancelInterruptsWithARequestAndWaitsForTheTurnEnd) {
  make();
  start();
  auto turn = prompt("t-3", "turn_1");
  auto cancel = fake.op();
  backend->cancel(cancel, "thr_1");
  EXPECT_EQ(sent_one(), O(R"({"id":"t-4","method":"turn/interrupt",)"
                          R"("params":{"threadId":"thr_1","turnId":"turn_1"}})"));
  result("t-4", "{}");
  EXPECT_FALSE(fake.is_finished(cancel.id()));
  completed("turn_1", "interrupted");
  EXPECT_TRUE(fake.is_completed(cancel.id()));
  EXPECT_EQ(fake.failed.at(turn).kind, AVENOR_FAILURE_CANCELLED);
  EXPECT_EQ(fake.take_events().back()["stop_reason"], "cancelled");

  auto idle = fake.op();
  backend->cancel(idle, "thr_1");
  EXPECT_EQ(fake.failure(idle.id()), "no active turn");
  EXPECT_TRUE(sent().empty());
}

TEST_F(CodexBackendTest, CancelBeforeTheTurnIdIsKnownWaitsForIt) {
  make();
  start();
  auto op = fake.op();
  backend->prompt(op, "thr_1", "hello");
  sent();
  auto cancel = fake.op();
  backend->cancel(cancel, "thr_1");
  EXPECT_TRUE(sent().empty());
  result("t-3", R"({"turn":{"id":"turn_1"}})");
  EXPECT_EQ(sent_one()["method"], "turn/interrupt");
  completed("turn_1", "interrupted");
  EXPECT_TRUE(fake.is_completed(cancel.id()));
}

TEST_F(CodexBackendTest, CancelWaitingForAFailedTurnStartHasNothingToInterrupt) {
  make();
  start();
  auto op = fake.op();
  backend->prompt(op, "thr_1", "hello");
  sent();
  auto cancel = fake.op();
  backend->cancel(cancel, "thr_1");
  error("t-3", "thread busy");
  EXPECT_EQ(fake.failure(op.id()), "turn/start: thread busy");
  EXPECT_EQ(fake.failure(cancel.id()), "no active turn");
  EXPECT_TRUE(sent().empty());
}

TEST_F(CodexBackendTest, FileApprovalIsDescribedByItsItem) {
  make();
  start();
  prompt("t-3", "turn_1");
  feed(R"({"method":"item/started","params":{"threadId":"thr_1","turnId":"turn_1","item":)"
       R"({"type":"fileChange","id":"call_1","status":"inProgress","changes":)"
       R"([{"path":"/work/proj/hello.txt","kind":{"type":"add"},"diff":"hi\n"}]}}})");
  fake.take_events();
  feed(R"({"method":"item/fileChange/requestApproval","id":0,"params":{"threadId":"thr_1",)"
       R"("turnId":"turn_1","itemId":"call_1","reason":null,"grantRoot":null}})");
  auto events = fake.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["kind"], "file");
  EXPECT_EQ(events[0]["description"], "/work/proj/hello.txt");
}

TEST_F(CodexBackendTest, InterruptErrorFailsTheCancel) {
  make();
  start();
  prompt("t-3", "turn_1");
  auto cancel = fake.op();
  backend->cancel(cancel, "thr_1");
  sent();
  error("t-4", "no active turn to interrupt");
  EXPECT_EQ(fake.failure(cancel.id()), "turn/interrupt: no active turn to interrupt");
}

TEST_F(CodexBackendTest, ApprovalRoundTrip) {
  make();
  start();
  prompt("t-3", "turn_1");
  fake.take_events();
  feed(R"({"method":"item/commandExecution/requestApproval","id":0,"params":{"kind":"command",)"
       R"("threadId":"thr_1","turnId":"turn_1","itemId":"call_1","command":"ls","reason":"why"}})");
  auto events = fake.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "permission.request");
  EXPECT_EQ(events[0]["request_id"], "0");
  EXPECT_EQ(events[0]["description"], "ls");

  PermissionAnswer answer;
  answer.session_id = "thr_1";
  answer.request_id = "0";
  answer.allow = false;
  auto op = fake.op();
  backend->answer_permission(op, answer);
  EXPECT_TRUE(fake.is_completed(op.id()));
  EXPECT_EQ(sent_one(), O(R"({"id":0,"result":{"decision":"decline"}})"));
  auto again = fake.op();
  backend->answer_permission(again, answer);
  EXPECT_EQ(fake.failure(again.id()), "unknown permission request_id: 0");
}

TEST_F(CodexBackendTest, ApprovalsOfAnEndedTurnAreDiscarded) {
  make();
  start();
  prompt("t-3", "turn_1");
  feed(R"({"method":"item/fileChange/requestApproval","id":5,"params":)"
       R"({"threadId":"thr_1","turnId":"turn_1","itemId":"f"}})");
  completed("turn_1", "interrupted");
  PermissionAnswer answer;
  answer.request_id = "5";
  answer.allow = true;
  auto op = fake.op();
  backend->answer_permission(op, answer);
  EXPECT_EQ(fake.failure(op.id()), "unknown permission request_id: 5");
  EXPECT_TRUE(sent().empty());
}

TEST_F(CodexBackendTest, UnknownServerRequestsAndBadParams) {
  make();
  start();
  feed(R"({"method":"item/tool/requestUserInput","id":"u1","params":{}})");
  EXPECT_EQ(sent_one(), O(R"({"id":"u1","error":{"code":-32601,)"
                          R"("message":"method not found: item/tool/requestUserInput"}})"));
  feed(R"({"method":"item/commandExecution/requestApproval","id":2,"params":"nope"})");
  auto reply = sent_one();
  EXPECT_EQ(reply["id"], 2);
  EXPECT_EQ(reply["error"].as_object()["code"], -32602);
}

TEST_F(CodexBackendTest, MalformedLinesAreNotedNotFatal) {
  make();
  start();
  feed("this is not json");
  feed(R"({"jsonrpc":"2.0"})");
  EXPECT_TRUE(fake.fatals.empty());
  ASSERT_EQ(backend->diagnostics().size(), 2u);
  EXPECT_NE(backend->diagnostics().lines()[0].find("this is not json"), std::string::npos);
  // the stream goes on
  auto op = prompt("t-3", "turn_1");
  completed("turn_1", "completed");
  EXPECT_TRUE(fake.is_completed(op));
}

TEST_F(CodexBackendTest, CloseReleasesEverythingWithTheDiagnostics) {
  make();
  start();
  feed(R"({"method":"warning","params":{"message":"Model metadata not found"}})");
  auto turn = prompt("t-3", "turn_1");
  auto cancel = fake.op();
  backend->cancel(cancel, "thr_1");
  auto pending_start = fake.op();
  backend->prompt(pending_start, "thr_1", "second");
  backend->on_closed("process exited with status 1");
  std::string expected =
      "codex app-server exited: process exited with status 1; last diagnostics: "
      "codex warning: Model metadata not found";
  EXPECT_EQ(fake.failure(turn), expected);
  EXPECT_EQ(fake.failure(cancel.id()), expected);
  EXPECT_EQ(fake.failure(pending_start.id()), expected);
  EXPECT_TRUE(fake.finished_twice().empty());
  auto later = fake.op();
  backend->start_session(later, std::nullopt);
  EXPECT_EQ(fake.failure(later.id()), expected);
}

}  // namespace
