#include "pi/pi_backend.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/testing/fake_host.hpp>
#include <memory>
#include <string>

#include "service_recorder.hpp"

namespace {

using namespace avenor::pi;
using avenor::sdk::PermissionAnswer;
using avenor::sdk::StartOptions;
namespace bj = boost::json;
namespace json = avenor::sdk::json;

bj::object J(std::string_view text) { return json::parse(text).as_object(); }

class PiBackendTest : public ::testing::Test {
 protected:
  void make(StartOptions options = {}) {
    std::int64_t now = 1000;
    backend = std::make_unique<PiBackend>(fake.host(), std::move(options),
                                          CommandIds([now]() mutable { return now++; }));
  }
  void SetUp() override { make(); }

  void feed(std::string_view line) { backend->on_bytes(std::string(line) + "\n"); }
  void respond(const bj::object& command, std::string_view rest = R"("success":true)") {
    feed(R"({"type":"response","id":")" + json::string_or(command, "id") + R"(","command":")" +
         json::string_or(command, "type") + R"(",)" + std::string(rest) + "}");
  }
  bj::object only_message() {
    auto m = fake.take_messages();
    EXPECT_EQ(m.size(), 1u);
    return m.empty() ? bj::object{} : m.front();
  }
  std::vector<std::string> event_names() {
    std::vector<std::string> names;
    for (const auto& e : fake.take_events()) names.push_back(json::string_or(e, "event"));
    return names;
  }

  // get_state → session "S1"
  std::uint64_t start(std::optional<std::string> resume = std::nullopt) {
    backend->start_session(fake.op(), std::move(resume));
    std::uint64_t op = fake.last_op();
    auto get_state = only_message();
    EXPECT_EQ(get_state.at("type"), "get_state");
    respond(get_state, R"("success":true,"data":{"sessionId":"S1","thinkingLevel":"off"})");
    return op;
  }

  // A prompt, accepted by pi; returns its op.
  std::uint64_t prompt(std::string text = "hello") {
    backend->prompt(fake.op(), "S1", text);
    std::uint64_t op = fake.last_op();
    auto p = only_message();
    EXPECT_EQ(p.at("type"), "prompt");
    EXPECT_EQ(p.at("message"), bj::value(text));
    respond(p);
    return op;
  }

  avenor::sdk::testing::FakeHost fake{0};  // an ABI 1.0 host: no services, so no version probe
  std::unique_ptr<PiBackend> backend;
};

constexpr std::string_view kStopEnd =
    R"({"type":"agent_end","messages":[{"role":"user","content":"hello"},{"role":"assistant",)"
    R"("content":[{"type":"text","text":"PI-FAKE-REPLY-789"}],"stopReason":"stop"}]})";
constexpr std::string_view kErrorEnd =
    R"({"type":"agent_end","messages":[{"role":"assistant","content":[],"stopReason":"error",)"
    R"("errorMessage":"500 injected failure"}]})";

TEST_F(PiBackendTest, LaunchesPiInRpcMode) {
  auto spec = backend->launch();
  EXPECT_EQ(spec.argv, (std::vector<std::string>{"pi", "--mode", "rpc", "--no-session"}));
}

TEST_F(PiBackendTest, StartAsksGetStateForTheSessionId) {
  backend->start_session(fake.op(), std::nullopt);
  auto get_state = only_message();
  EXPECT_EQ(get_state.at("id"), "avenor-1000-1");
  EXPECT_FALSE(fake.is_finished(1));
  respond(get_state, R"("success":true,"data":{"sessionId":"01a2-uuid"})");
  EXPECT_EQ(fake.completed.at(1), bj::value(J(R"({"session_id":"01a2-uuid"})")));
}

TEST_F(PiBackendTest, SessionIdFallbacks) {
  EXPECT_EQ(session_id_from_state(J(R"({"data":{"sessionId":"a"},"sessionId":"b"})")), "a");
  EXPECT_EQ(session_id_from_state(J(R"({"data":{},"sessionId":"b"})")), "b");
  EXPECT_EQ(session_id_from_state(J(R"({"state":{"sessionId":"c"}})")), "c");
  EXPECT_EQ(session_id_from_state(J(R"({"data":{"state":{"sessionId":"d"}}})")), "d");
  EXPECT_EQ(session_id_from_state(J(R"({"data":{}})")), "");

  backend->start_session(fake.op(), std::nullopt);
  auto get_state = only_message();
  respond(get_state, R"("success":true,"data":{})");
  EXPECT_EQ(fake.completed.at(1), bj::value(J(R"({"session_id":"pi-avenor-1000-1"})")));
}

TEST_F(PiBackendTest, FailedGetStateFailsTheStart) {
  backend->start_session(fake.op(), std::nullopt);
  respond(only_message(), R"("success":false,"error":"nope")");
  EXPECT_EQ(fake.failure(1), "pi: get_state: nope");
}

TEST_F(PiBackendTest, ServerUrlIsRefused) {
  StartOptions o;
  o.server_url = "http://127.0.0.1:1";
  make(o);
  backend->start_session(fake.op(), std::nullopt);
  EXPECT_EQ(fake.failure(1),
            "external server URL transport is not implemented by the stdio client");
  EXPECT_TRUE(fake.take_bytes().empty());
}

TEST_F(PiBackendTest, OneSessionPerProcess) {
  start();
  backend->start_session(fake.op(), std::nullopt);
  EXPECT_EQ(fake.failure(2),
            "pi: this pi process already holds session S1; one session per process");
  backend->start_session(fake.op(), std::string("OTHER"));
  EXPECT_TRUE(fake.is_failed(3));
  // the held session resumes for free
  backend->start_session(fake.op(), std::string("S1"));
  EXPECT_EQ(fake.completed.at(4), bj::value(J(R"({"session_id":"S1"})")));
  EXPECT_TRUE(fake.take_bytes().empty());
}

TEST_F(PiBackendTest, ResumingTheHeldSessionReappliesThinking) {
  StartOptions o;
  o.thinking = "max";
  make(o);
  start();
  backend->start_session(fake.op(), std::string("S1"));
  auto set = only_message();
  EXPECT_EQ(set.at("type"), "set_thinking_level");
  EXPECT_EQ(set.at("level"), "xhigh");
  EXPECT_FALSE(fake.is_finished(2));
  respond(set);
  EXPECT_TRUE(fake.is_completed(2));

  backend->start_session(fake.op(), std::string("S1"));
  respond(only_message(), R"("success":false,"error":"bad level")");
  EXPECT_EQ(fake.failure(3), "pi: set_thinking_level: bad level");
}

TEST_F(PiBackendTest, ResumingAnUnknownIdAdoptsItWithoutSwitchingSessions) {
  backend->start_session(fake.op(), std::string("OLD-SESSION"));
  auto get_state = only_message();
  EXPECT_EQ(get_state.at("type"), "get_state") << "no switch_session: nothing to reload";
  respond(get_state, R"("success":true,"data":{"sessionId":"fresh"})");
  EXPECT_EQ(fake.completed.at(1), bj::value(J(R"({"session_id":"OLD-SESSION"})")));
  backend->prompt(fake.op(), "OLD-SESSION", "again");
  EXPECT_EQ(only_message().at("type"), "prompt");
}

TEST_F(PiBackendTest, TextTurn) {
  start();
  fake.take_events();
  std::uint64_t op = prompt();
  feed(R"({"type":"agent_start"})");
  feed(R"({"type":"turn_start"})");
  feed(
      R"({"type":"message_update","assistantMessageEvent":{"type":"text_delta","delta":"PI-FAKE-"}})");
  feed(
      R"({"type":"message_update","assistantMessageEvent":{"type":"text_delta","delta":"REPLY-789"}})");
  feed(R"({"type":"turn_end"})");
  EXPECT_FALSE(fake.is_finished(op));
  feed(kStopEnd);
  EXPECT_TRUE(fake.is_completed(op));
  auto events = fake.take_events();
  ASSERT_EQ(events.size(), 8u);
  EXPECT_EQ(events[0].at("event"), "session.start");
  EXPECT_EQ(events[2].at("event"), "agent.message_chunk");
  EXPECT_EQ(events[2].at("session_id"), "S1");
  const auto& end = events.back();
  EXPECT_EQ(end.at("event"), "session.end");
  EXPECT_EQ(end.at("stop_reason"), "end_turn");
  EXPECT_EQ(end.at("final_output"), "PI-FAKE-REPLY-789");
  EXPECT_EQ(fake.trace.back(), "complete:" + std::to_string(op)) << "session.end comes first";
  EXPECT_TRUE(fake.finished_twice().empty());
}

TEST_F(PiBackendTest, TheTurnWaitsForThePromptsAcceptanceToo) {
  start();
  backend->prompt(fake.op(), "S1", "x");
  std::uint64_t op = fake.last_op();
  auto p = only_message();
  feed(kStopEnd);
  EXPECT_FALSE(fake.is_finished(op));
  respond(p);
  EXPECT_TRUE(fake.is_completed(op));
}

TEST_F(PiBackendTest, RejectedPromptIsAPromptErrorCarryingPisError) {
  start();
  backend->prompt(fake.op(), "S1", "x");
  std::uint64_t op = fake.last_op();
  respond(only_message(), R"("success":false,"error":"No API key found for the selected model.")");
  EXPECT_EQ(fake.failure(op), "No API key found for the selected model.");
  // the next prompt may run
  backend->prompt(fake.op(), "S1", "y");
  EXPECT_EQ(only_message().at("type"), "prompt");
}

TEST_F(PiBackendTest, PromptChecksItsSessionAndOneTurnAtATime) {
  backend->prompt(fake.op(), "S1", "x");
  EXPECT_EQ(fake.failure(1), "pi: unknown session S1");
  start();
  backend->prompt(fake.op(), "S2", "x");
  EXPECT_EQ(fake.failure(3), "pi: unknown session S2");
  prompt();
  backend->prompt(fake.op(), "S1", "x");
  EXPECT_EQ(fake.failure(5), "pi: a turn is already running in session S1");
}

TEST_F(PiBackendTest, ErrorAfterPisRetriesFailsThePromptWithTheErrorMessage) {
  start();
  std::uint64_t op = prompt();
  fake.take_events();
  feed(R"({"type":"agent_start"})");
  feed(kErrorEnd);
  auto probe = only_message();
  EXPECT_EQ(probe.at("type"), "get_state") << "an error end is probed";
  EXPECT_FALSE(fake.is_finished(op));
  feed(
      R"({"type":"auto_retry_end","success":false,"attempt":3,"finalError":"500 injected failure"})");
  EXPECT_EQ(fake.failure(op), "500 injected failure");
  auto events = fake.take_events();
  EXPECT_EQ(events.back().at("event"), "session.end");
  EXPECT_EQ(events.back().at("stop_reason"), "error");
  EXPECT_EQ(events.back().at("error_message"), "500 injected failure");
  EXPECT_EQ(events[events.size() - 2].at("event"), "avenor.auto_retry.end");
  respond(probe, R"("success":true,"data":{})");  // late answer: ignored
  EXPECT_TRUE(fake.finished_twice().empty());
}

TEST_F(PiBackendTest, AutoRetryThatSucceedsIsOneTurn) {
  start();
  std::uint64_t op = prompt();
  fake.take_events();
  feed(R"({"type":"agent_start"})");
  feed(kErrorEnd);
  auto probe = only_message();
  feed(
      R"({"type":"auto_retry_start","attempt":1,"maxAttempts":3,"delayMs":2000,"errorMessage":"500 injected failure"})");
  respond(probe, R"("success":true,"data":{})");
  EXPECT_FALSE(fake.is_finished(op));
  feed(R"({"type":"agent_start"})");
  feed(
      R"({"type":"message_update","assistantMessageEvent":{"type":"text_delta","delta":"RECOVERED"}})");
  feed(
      R"({"type":"agent_end","messages":[{"role":"assistant","content":[{"type":"text","text":"RECOVERED"}],"stopReason":"stop"}]})");
  EXPECT_TRUE(fake.is_completed(op));
  auto names = event_names();
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "session.start", "avenor.agent_end", "avenor.auto_retry.start", "session.start",
                "agent.message_chunk", "avenor.message.delta", "session.end"}));
}

TEST_F(PiBackendTest, AnErrorNothingFollowsEndsAtTheProbesAnswer) {
  start();
  std::uint64_t op = prompt();
  feed(kErrorEnd);
  auto probe = only_message();
  EXPECT_FALSE(fake.is_finished(op));
  respond(probe, R"("success":true,"data":{})");
  EXPECT_EQ(fake.failure(op), "500 injected failure");
}

TEST_F(PiBackendTest, WillRetryAgentEndIsNotTerminal) {
  start();
  std::uint64_t op = prompt();
  fake.take_events();
  feed(
      R"({"type":"agent_end","willRetry":true,"messages":[{"role":"assistant","stopReason":"error","errorMessage":"overloaded"}]})");
  EXPECT_FALSE(fake.is_finished(op));
  auto events = fake.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(bj::value(events[0]), bj::value(J(R"({"event":"avenor.agent_end","session_id":"S1",
      "willRetry":true,"stop_reason":"error","error_message":"overloaded"})")));
  feed(kStopEnd);
  EXPECT_TRUE(fake.is_completed(op));
}

TEST_F(PiBackendTest, AgentEndOutsideATurnIsOnlyReported) {
  start();
  fake.take_events();
  feed(kStopEnd);
  EXPECT_EQ(event_names(), (std::vector<std::string>{"avenor.agent_end"}));
}

TEST_F(PiBackendTest, CancelAbortsAndAnAbortedEndIsACancellation) {
  start();
  std::uint64_t op = prompt();
  backend->cancel(fake.op(), "S1");
  std::uint64_t cancel = fake.last_op();
  auto abort = only_message();
  EXPECT_EQ(abort.at("type"), "abort");
  feed(
      R"({"type":"agent_end","messages":[{"role":"assistant","content":[],"stopReason":"aborted","errorMessage":"Request was aborted."}]})");
  EXPECT_EQ(fake.failed.at(op).kind, AVENOR_FAILURE_CANCELLED);
  EXPECT_FALSE(fake.is_finished(cancel));
  respond(abort);
  EXPECT_TRUE(fake.is_completed(cancel));
  EXPECT_EQ(fake.events.back().at("stop_reason"), "cancelled");
}

TEST_F(PiBackendTest, CancelDismissesOpenDialogsSoPiCanGoIdle) {
  start();
  prompt();
  feed(R"({"type":"extension_ui_request","id":"u1","method":"input","title":"Reason?"})");
  backend->cancel(fake.op(), "S1");
  auto m = fake.take_messages();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].at("type"), "abort");
  EXPECT_EQ(bj::value(m[1]), bj::value(J(R"({"type":"extension_ui_response","id":"u1",
      "method":"input","cancelled":true})")));
  PermissionAnswer late;
  late.request_id = "u1";
  late.allow = true;
  backend->answer_permission(fake.op(), late);
  EXPECT_EQ(fake.failure(fake.last_op()), "unknown permission request_id: u1");
}

TEST_F(PiBackendTest, AbortDuringTheRetrySleepEndsTheTurnCancelled) {
  start();
  std::uint64_t op = prompt();
  feed(kErrorEnd);
  auto probe = only_message();
  feed(R"({"type":"auto_retry_start","attempt":1,"delayMs":2000,"errorMessage":"500"})");
  respond(probe, R"("success":true,"data":{})");
  backend->cancel(fake.op(), "S1");
  auto abort = only_message();
  feed(R"({"type":"auto_retry_end","success":false,"attempt":1,"finalError":"Retry cancelled"})");
  respond(abort);
  EXPECT_EQ(fake.failed.at(op).kind, AVENOR_FAILURE_CANCELLED);
  EXPECT_EQ(fake.events.back().at("event"), "session.end");
  EXPECT_EQ(fake.events.back().at("stop_reason"), "cancelled");
}

TEST_F(PiBackendTest, DialogsBecomePermissionRequestsAboutTheRunningTool) {
  start();
  prompt();
  feed(
      R"({"type":"tool_execution_start","toolCallId":"c1","toolName":"bash","args":{"command":"ls"}})");
  fake.take_events();
  feed(
      R"({"type":"extension_ui_request","id":"u1","method":"select","title":"Allow bash?","options":["Allow","Block"]})");
  auto events = fake.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("event"), "permission.request");
  EXPECT_EQ(events[0].at("request_id"), "u1");
  EXPECT_EQ(events[0].at("session_id"), "S1");
  EXPECT_EQ(events[0].at("tool"), "bash");
  EXPECT_EQ(events[0].at("input"), bj::value(J(R"({"command":"ls"})")));

  PermissionAnswer a;
  a.session_id = "S1";
  a.request_id = "u1";
  a.allow = true;
  a.option_id = "Allow";
  backend->answer_permission(fake.op(), a);
  EXPECT_TRUE(fake.is_completed(fake.last_op()));
  EXPECT_EQ(bj::value(only_message()), bj::value(J(R"({"type":"extension_ui_response","id":"u1",
      "method":"select","value":"Allow"})")));

  feed(
      R"({"type":"tool_execution_end","toolCallId":"c1","toolName":"bash","result":{},"isError":false})");
  feed(R"({"type":"extension_ui_request","id":"u2","method":"confirm","title":"Later?"})");
  EXPECT_FALSE(fake.events.back().contains("tool")) << "no tool runs any more";
}

TEST_F(PiBackendTest, AnswersAreCheckedBeforeTheyAreSent) {
  start();
  feed(
      R"({"type":"extension_ui_request","id":"u1","method":"select","title":"t","options":["A","B"]})");
  PermissionAnswer a;
  a.request_id = "u1";
  a.allow = true;
  a.option_id = "B";
  backend->answer_permission(fake.op(), a);
  EXPECT_EQ(fake.failure(fake.last_op()), "permission option B is of kind reject, not allow");
  a.session_id = "OTHER";
  a.option_id = "A";
  backend->answer_permission(fake.op(), a);
  EXPECT_EQ(fake.failure(fake.last_op()), "unknown permission request_id: u1");
  EXPECT_TRUE(fake.take_bytes().empty());
  a.session_id = "S1";
  backend->answer_permission(fake.op(), a);
  EXPECT_TRUE(fake.is_completed(fake.last_op()));
}

TEST_F(PiBackendTest, FireAndForgetUiIsDroppedAndUnknownUiReported) {
  start();
  fake.take_events();
  feed(R"({"type":"extension_ui_request","id":"n1","method":"notify","message":"hi"})");
  feed(R"({"type":"extension_ui_request","id":"n2","method":"setStatus","statusKey":"k"})");
  EXPECT_TRUE(fake.take_events().empty());
  feed(R"({"type":"extension_ui_request","id":"n3","method":"custom"})");
  EXPECT_EQ(event_names(), (std::vector<std::string>{"avenor.extension_ui_request"}));
}

TEST_F(PiBackendTest, PiExitingFailsEverythingWaiting) {
  backend->start_session(fake.op(), std::nullopt);
  backend->on_closed("exit status 1");
  EXPECT_EQ(fake.failure(1), "pi: get_state: pi exited: exit status 1");
  backend->prompt(fake.op(), "S1", "x");
  EXPECT_EQ(fake.failure(2), "pi exited: exit status 1");
}

TEST_F(PiBackendTest, PiExitingMidTurnFailsThePrompt) {
  start();
  std::uint64_t op = prompt();
  backend->on_closed("");
  EXPECT_EQ(fake.failure(op), "pi exited");
  backend->cancel(fake.op(), "S1");
  EXPECT_EQ(fake.failure(fake.last_op()), "pi exited");
}

TEST_F(PiBackendTest, NonJsonLinesAreSkippedWithAWarning) {
  start();
  fake.take_events();
  feed("Debugger attached.");
  feed("[1,2]");
  feed(R"({"type":"agent_start"})");
  EXPECT_EQ(event_names(), (std::vector<std::string>{"session.start"}));
  ASSERT_EQ(fake.logs.size(), 2u);
  EXPECT_EQ(fake.logs[0].first, AVENOR_LOG_WARN);
  EXPECT_NE(fake.logs[0].second.find("Debugger attached."), std::string::npos);
  EXPECT_TRUE(fake.fatals.empty());
}

TEST_F(PiBackendTest, AResponseNobodyWaitsForIsLogged) {
  feed(
      R"({"type":"response","command":"parse","success":false,"error":"Failed to parse command"})");
  ASSERT_EQ(fake.logs.size(), 1u);
  EXPECT_NE(fake.logs[0].second.find("Failed to parse command"), std::string::npos);
}

TEST_F(PiBackendTest, ALineSplitAcrossReadsAndCrLf) {
  start();
  fake.take_events();
  backend->on_bytes("{\"type\":\"agent");
  backend->on_bytes("_start\"}\r\n{\"type\":\"turn_start\"}\n");
  EXPECT_EQ(event_names(), (std::vector<std::string>{"session.start", "avenor.turn.start"}));
}

}  // namespace

namespace {

// Start with --thinking: `pi --help` through the host's process service.
class PiThinkingStartTest : public ::testing::Test {
 protected:
  void make(bool offer_services = true) {
    recorder = std::make_unique<avenor::test::ServiceRecorder>(fake, offer_services);
    StartOptions o;
    o.dir = "/work/proj";
    o.thinking = "high";
    backend = std::make_unique<PiBackend>(recorder->host(), o);
  }
  bj::object only_message() {
    auto m = fake.take_messages();
    EXPECT_EQ(m.size(), 1u);
    return m.empty() ? bj::object{} : m.front();
  }
  void answer_get_state() {
    auto get_state = only_message();
    ASSERT_EQ(get_state.at("type"), "get_state");
    backend->on_bytes(R"({"type":"response","id":")" + json::string_or(get_state, "id") +
                      R"(","command":"get_state","success":true,"data":{"sessionId":"S1"}})"
                      "\n");
  }
  static bj::object help_result(std::string err) {
    return {{"exit_code", 0}, {"signal", 0}, {"timed_out", false}, {"stdout", ""}, {"stderr", err}};
  }

  avenor::sdk::testing::FakeHost fake;
  std::unique_ptr<avenor::test::ServiceRecorder> recorder;
  std::unique_ptr<PiBackend> backend;
};

TEST_F(PiThinkingStartTest, HelpAndGetStateRunSideBySide) {
  make();
  backend->start_session(recorder->op(7), std::nullopt);
  ASSERT_EQ(recorder->calls.size(), 1u);
  const auto& call = recorder->calls[0];
  EXPECT_EQ(call.service, "process.run");
  EXPECT_EQ(call.request.at("argv"), bj::value(J(R"({"a":["pi","--help"]})").at("a")));
  EXPECT_EQ(call.request.at("cwd"), "/work/proj");
  answer_get_state();
  EXPECT_FALSE(fake.is_finished(7)) << "waits for the help check";
  recorder->finish(call, help_result("  --thinking <level>  Set thinking level"));
  EXPECT_EQ(fake.completed.at(7), bj::value(J(R"({"session_id":"S1"})")));
}

TEST_F(PiThinkingStartTest, APiWithoutTheFlagFailsTheStart) {
  make();
  backend->start_session(recorder->op(7), std::nullopt);
  recorder->finish(recorder->calls.at(0), help_result("usage: pi"));
  EXPECT_FALSE(fake.is_finished(7));
  answer_get_state();
  EXPECT_EQ(fake.failure(7), "backend \"pi\" does not support parameter \"thinking\"");
  backend->prompt(recorder->op(8), "S1", "x");
  EXPECT_EQ(fake.failure(8), "pi: unknown session S1") << "no session was started";
}

TEST_F(PiThinkingStartTest, AHelpThatCannotRunFailsTheStart) {
  make();
  backend->start_session(recorder->op(7), std::nullopt);
  answer_get_state();
  recorder->fail(recorder->calls.at(0), "start pi: No such file or directory");
  EXPECT_EQ(fake.failure(7), "pi --help: start pi: No such file or directory");
}

TEST_F(PiThinkingStartTest, AnOldHostSkipsTheCheckWithAWarning) {
  make(false);
  backend->start_session(recorder->op(7), std::nullopt);
  EXPECT_TRUE(recorder->calls.empty());
  answer_get_state();
  EXPECT_TRUE(fake.is_completed(7));
  ASSERT_FALSE(fake.logs.empty());
  EXPECT_EQ(fake.logs[0].first, AVENOR_LOG_WARN);
}

TEST_F(PiThinkingStartTest, WithoutThinkingThereIsNoCheck) {
  recorder = std::make_unique<avenor::test::ServiceRecorder>(fake);
  backend = std::make_unique<PiBackend>(recorder->host(), StartOptions{});
  backend->start_session(recorder->op(7), std::nullopt);
  answer_get_state();
  EXPECT_TRUE(fake.is_completed(7));
  EXPECT_TRUE(recorder->calls.empty());
}

}  // namespace
