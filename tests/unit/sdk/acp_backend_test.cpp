#include <gtest/gtest.h>

#include <avenor/sdk/acp_backend.hpp>
#include <avenor/sdk/testing/fake_host.hpp>
#include <filesystem>
#include <memory>
#include <ostream>
#ifdef AVENOR_BUILD_PLUGIN_DIR
#include <dlfcn.h>
#endif
#include <optional>
#include <string>
#include <vector>

namespace {

namespace bj = boost::json;
using avenor::sdk::AcpBackend;
using avenor::sdk::AcpProfile;
using avenor::sdk::PermissionAnswer;
using avenor::sdk::StartOptions;

bj::value J(std::string_view text) { return avenor::sdk::json::parse(text); }

// The three shipped profiles, as the plugins build them.
AcpProfile opencode_profile() {
  AcpProfile p;
  p.argv = {"opencode", "acp", "--pure", "--log-level", "WARN", "--cwd", "{dir}"};
  p.configure_model = true;
  p.configure_mode = true;
  return p;
}
AcpProfile gemini_profile() {
  AcpProfile p;
  p.argv = {"gemini", "--acp", "--approval-mode", "default"};
  return p;
}
AcpProfile cursor_profile() {
  AcpProfile p;
  p.argv = {"agent", "acp"};
  p.authenticate_method = "cursor_login";
  return p;
}

constexpr std::string_view kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,)"
    R"("clientCapabilities":{"fs":{"readTextFile":false,"writeTextFile":false},"terminal":false},)"
    R"("clientInfo":{"name":"avenor","version":"0.0.1"}}})";

class AcpBackendTest : public ::testing::Test {
 protected:
  void make(AcpProfile profile, StartOptions options = {}) {
    if (options.dir.empty()) options.dir = "/work/proj";
    backend = std::make_unique<AcpBackend>(fake.host(), std::move(options), std::move(profile));
  }

  void feed(std::string_view line) { backend->on_bytes(std::string(line) + "\n"); }
  void result(std::int64_t id, std::string_view result_json) {
    feed(R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"result":)" +
         std::string(result_json) + "}");
  }
  void error(std::int64_t id, std::string_view message) {
    feed(R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"error":{"code":-32000,"message":")" + std::string(message) + R"("}})");
  }

  // The single message written since the last call.
  bj::value sent() {
    auto messages = fake.take_messages();
    EXPECT_EQ(messages.size(), 1u);
    return messages.empty() ? bj::value() : bj::value(messages.front());
  }
  bool nothing_sent() { return fake.take_bytes().empty(); }

  // Starts a new session: initialize (id 1) then session/new (id 2).
  void start(std::string_view session_id = "ses_1") {
    auto op = fake.op();
    backend->start_session(op, std::nullopt);
    EXPECT_EQ(sent(), J(kInitialize));
    result(1, R"({"protocolVersion":1,"agentCapabilities":{"loadSession":true}})");
    EXPECT_EQ(sent(), J(R"({"jsonrpc":"2.0","id":2,"method":"session/new",)"
                        R"("params":{"cwd":"/work/proj","mcpServers":[]}})"));
    result(2, R"({"sessionId":")" + std::string(session_id) + R"("})");
    ASSERT_TRUE(fake.is_completed(op.id())) << fake.failure(op.id());
    EXPECT_EQ(fake.completed[op.id()], bj::value(bj::object{{"session_id", session_id}}));
  }

  // Sends a prompt and returns its operation; the request gets JSON-RPC id `rpc_id`.
  avenor::sdk::Operation prompt(std::int64_t rpc_id, std::string_view session = "ses_1",
                                std::string_view text = "hi") {
    auto op = fake.op();
    backend->prompt(op, std::string(session), std::string(text));
    EXPECT_EQ(sent(),
              J(R"({"jsonrpc":"2.0","id":)" + std::to_string(rpc_id) +
                R"(,"method":"session/prompt","params":{"sessionId":")" + std::string(session) +
                R"(","prompt":[{"type":"text","text":")" + std::string(text) + R"("}]}})"));
    return op;
  }

  // An agent→client permission request with three options.
  void ask_permission(std::string_view id_json, std::string_view session = "ses_1") {
    feed(R"({"jsonrpc":"2.0","id":)" + std::string(id_json) +
         R"(,"method":"session/request_permission","params":{"sessionId":")" +
         std::string(session) +
         R"(","toolCall":{"toolCallId":"call_1","title":"printf hi",)"
         R"("kind":"execute","status":"pending","rawInput":{"command":"printf hi"}},)"
         R"("options":[{"optionId":"once","name":"Allow once","kind":"allow_once"},)"
         R"({"optionId":"always","name":"Always","kind":"allow_always"},)"
         R"({"optionId":"reject","name":"Reject","kind":"reject_once"}]}})");
  }

  std::uint64_t answer(PermissionAnswer a) {
    auto op = fake.op();
    if (a.session_id.empty()) a.session_id = "ses_1";
    backend->answer_permission(op, a);
    return op.id();
  }

  void TearDown() override {
    backend.reset();  // drops whatever the engine still holds
    EXPECT_EQ(fake.finished_twice(), std::vector<std::uint64_t>{})
        << "operations finished more than once (see SdkOperation.FinishesExactlyOnce)";
  }

  avenor::sdk::testing::FakeHost fake;
  std::unique_ptr<AcpBackend> backend;  // after fake: destroyed first
};

// The engine relies on Operation reporting exactly one complete/fail per id.
TEST(SdkOperation, FinishesExactlyOnce) {
  avenor::sdk::testing::FakeHost fake;
  {
    auto op = fake.op();
    EXPECT_FALSE(fake.is_finished(op.id()))
        << "a fresh operation is already finished: " << fake.failure(op.id());
    auto copy = op;
    copy.complete();
    op.fail("ignored");
  }
  { auto dropped = fake.op(); }
  EXPECT_EQ(fake.trace, (std::vector<std::string>{"complete:1", "fail:2"}));
  EXPECT_EQ(fake.failure(2), "operation dropped by the plugin");
}

// --- launch and handshake ----------------------------------------------------

TEST_F(AcpBackendTest, LaunchLines) {
  make(opencode_profile());
  auto spec = backend->launch();
  EXPECT_EQ(spec.argv, (std::vector<std::string>{"opencode", "acp", "--pure", "--log-level", "WARN",
                                                 "--cwd", "/work/proj"}));
  EXPECT_TRUE(spec.env.empty());
  EXPECT_TRUE(spec.cwd.empty());

  make(gemini_profile());
  EXPECT_EQ(backend->launch().argv,
            (std::vector<std::string>{"gemini", "--acp", "--approval-mode", "default"}));
  make(cursor_profile());
  EXPECT_EQ(backend->launch().argv, (std::vector<std::string>{"agent", "acp"}));
}

TEST_F(AcpBackendTest, DirIsMadeAbsolute) {
  std::string cwd = std::filesystem::current_path().lexically_normal().string();
  StartOptions relative;
  relative.dir = "sub/../proj/";
  backend = std::make_unique<AcpBackend>(fake.host(), relative, opencode_profile());
  EXPECT_EQ(backend->dir(), cwd + "/proj");
  EXPECT_EQ(backend->launch().argv.back(), cwd + "/proj");

  backend = std::make_unique<AcpBackend>(fake.host(), StartOptions{}, opencode_profile());
  EXPECT_EQ(backend->dir(), cwd);
}

TEST_F(AcpBackendTest, FullHandshake) {
  make(opencode_profile());
  start();
  EXPECT_TRUE(nothing_sent());
  EXPECT_TRUE(fake.events.empty());
}

TEST_F(AcpBackendTest, ServerUrlIsRejected) {
  StartOptions options;
  options.server_url = "http://127.0.0.1:4096";
  make(opencode_profile(), options);
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  EXPECT_EQ(fake.failure(op.id()),
            "external server URL transport is not implemented by the stdio client");
  EXPECT_TRUE(nothing_sent());
}

TEST_F(AcpBackendTest, OpencodeConfiguresModelThenMode) {
  StartOptions options;
  options.model = "fake/fake-model";
  options.agent = "build";
  make(opencode_profile(), options);
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  EXPECT_EQ(sent(), J(kInitialize));
  result(1, "{}");
  EXPECT_EQ(sent().as_object().at("method"), "session/new");
  result(2, R"({"sessionId":"ses_9"})");
  EXPECT_EQ(sent(),
            J(R"({"jsonrpc":"2.0","id":3,"method":"session/set_config_option",)"
              R"("params":{"sessionId":"ses_9","configId":"model","value":"fake/fake-model"}})"));
  result(3, R"({"configOptions":[]})");
  EXPECT_EQ(sent(), J(R"({"jsonrpc":"2.0","id":4,"method":"session/set_mode",)"
                      R"("params":{"sessionId":"ses_9","modeId":"build"}})"));
  EXPECT_FALSE(fake.is_finished(op.id())) << fake.failure(op.id());
  result(4, "null");
  EXPECT_EQ(fake.completed[op.id()], J(R"({"session_id":"ses_9"})"));
}

TEST_F(AcpBackendTest, OpencodeModeOnly) {
  StartOptions options;
  options.agent = "plan";
  make(opencode_profile(), options);
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  sent();
  result(1, "{}");
  sent();
  result(2, R"({"sessionId":"s"})");
  EXPECT_EQ(sent().as_object().at("method"), "session/set_mode");
  result(3, "{}");
  EXPECT_TRUE(fake.is_completed(op.id()));
}

TEST_F(AcpBackendTest, ConfigureErrorAbortsStart) {
  StartOptions options;
  options.model = "nope/none";
  options.agent = "build";
  make(opencode_profile(), options);
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  sent();
  result(1, "{}");
  sent();
  result(2, R"({"sessionId":"s"})");
  sent();
  error(3, "unknown model");
  EXPECT_EQ(fake.failure(op.id()), "session/set_config_option: unknown model");
  EXPECT_TRUE(nothing_sent());  // no set_mode after a failed model
}

TEST_F(AcpBackendTest, GeminiSendsNoConfiguration) {
  StartOptions options;
  options.model = "gemini-2.5-flash";
  options.agent = "build";
  make(gemini_profile(), options);
  start("21d6");
  EXPECT_TRUE(nothing_sent());
}

TEST_F(AcpBackendTest, CursorAuthenticates) {
  make(cursor_profile());
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  EXPECT_EQ(sent(), J(kInitialize));
  result(1, "{}");
  EXPECT_EQ(sent(), J(R"({"jsonrpc":"2.0","id":2,"method":"authenticate",)"
                      R"("params":{"methodId":"cursor_login"}})"));
  result(2, "{}");
  EXPECT_EQ(sent(), J(R"({"jsonrpc":"2.0","id":3,"method":"session/new",)"
                      R"("params":{"cwd":"/work/proj","mcpServers":[]}})"));
  result(3, R"({"sessionId":"cur-1"})");
  EXPECT_EQ(fake.completed[op.id()], J(R"({"session_id":"cur-1"})"));
}

TEST_F(AcpBackendTest, AuthenticateFailureAbortsStart) {
  make(cursor_profile());
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  sent();
  result(1, "{}");
  sent();
  error(2, "Not logged in");
  EXPECT_EQ(fake.failure(op.id()), "authenticate: Not logged in");
  EXPECT_TRUE(nothing_sent());
  // The handshake failure sticks: a later start fails the same way.
  auto again = fake.op();
  backend->start_session(again, std::nullopt);
  EXPECT_EQ(fake.failure(again.id()), "authenticate: Not logged in");
}

TEST_F(AcpBackendTest, InitializeErrorAbortsStart) {
  make(gemini_profile());
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  sent();
  error(1, "unsupported protocol");
  EXPECT_EQ(fake.failure(op.id()), "initialize: unsupported protocol");
}

TEST_F(AcpBackendTest, SessionNewMissingSessionId) {
  make(gemini_profile());
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  sent();
  result(1, "{}");
  sent();
  result(2, R"({"modes":{}})");
  EXPECT_EQ(fake.failure(op.id()), "session/new response missing sessionId");
}

TEST_F(AcpBackendTest, SessionNewErrorAbortsStart) {
  make(gemini_profile());
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  sent();
  result(1, "{}");
  sent();
  error(2, "Gemini API key is missing or not configured.");
  EXPECT_EQ(fake.failure(op.id()), "session/new: Gemini API key is missing or not configured.");
}

TEST_F(AcpBackendTest, ConcurrentStartsShareOneHandshake) {
  make(gemini_profile());
  auto a = fake.op();
  auto b = fake.op();
  backend->start_session(a, std::nullopt);
  backend->start_session(b, std::nullopt);
  EXPECT_EQ(sent(), J(kInitialize));  // exactly one initialize
  result(1, "{}");
  auto messages = fake.take_messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("id"), 2);
  EXPECT_EQ(messages[1].at("id"), 3);
  result(3, R"({"sessionId":"b"})");
  result(2, R"({"sessionId":"a"})");
  EXPECT_EQ(fake.completed[a.id()], J(R"({"session_id":"a"})"));
  EXPECT_EQ(fake.completed[b.id()], J(R"({"session_id":"b"})"));
}

// --- resume --------------------------------------------------------------------

TEST_F(AcpBackendTest, ResumeUsesSessionResumeWithoutConfigure) {
  StartOptions options;
  options.model = "fake/fake-model";
  options.agent = "build";
  make(opencode_profile(), options);
  auto op = fake.op();
  backend->start_session(op, std::string("ses_old"));
  EXPECT_EQ(sent(), J(kInitialize));
  result(1, "{}");
  EXPECT_EQ(sent(), J(R"({"jsonrpc":"2.0","id":2,"method":"session/resume",)"
                      R"("params":{"cwd":"/work/proj","mcpServers":[],"sessionId":"ses_old"}})"));
  result(2, "{}");
  EXPECT_EQ(fake.completed[op.id()], J(R"({"session_id":"ses_old"})"));
  EXPECT_TRUE(nothing_sent());  // model and mode are not re-sent
}

TEST_F(AcpBackendTest, ResumeErrorFailsStart) {
  make(gemini_profile());
  auto op = fake.op();
  backend->start_session(op, std::string("gone"));
  sent();
  result(1, "{}");
  sent();
  error(2, "Session not found");
  EXPECT_EQ(fake.failure(op.id()), "session/resume: Session not found");
}

TEST_F(AcpBackendTest, ResumingAHeldSessionIsFree) {
  make(opencode_profile());
  start("ses_1");
  auto op = fake.op();
  backend->start_session(op, std::string("ses_1"));
  EXPECT_EQ(fake.completed[op.id()], J(R"({"session_id":"ses_1"})"));
  EXPECT_TRUE(nothing_sent());
}

// --- prompt and streaming ---------------------------------------------------------

TEST_F(AcpBackendTest, PromptStreamsEventsAndEnds) {
  make(opencode_profile());
  start();
  auto op = prompt(3);
  auto update = [&](std::string_view update_json) {
    feed(R"({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"ses_1","update":)" +
         std::string(update_json) + "}}");
  };
  update(R"({"sessionUpdate":"available_commands_update","availableCommands":[]})");
  update(R"({"sessionUpdate":"agent_thought_chunk","content":{"type":"text","text":"hmm"}})");
  update(
      R"({"sessionUpdate":"agent_message_chunk","messageId":"msg_1","content":{"type":"text","text":"OC-FAKE-"}})");
  update(R"({"sessionUpdate":"tool_call","toolCallId":"call_1","title":"printf","kind":"execute",)"
         R"("status":"pending","rawInput":{"command":"printf x"},"locations":[]})");
  update(R"({"sessionUpdate":"tool_call_update","toolCallId":"call_1","status":"completed",)"
         R"("rawOutput":{"output":"x"}})");
  update(R"({"sessionUpdate":"plan","entries":[{"content":"step","status":"pending"}]})");
  update(R"({"sessionUpdate":"user_message_chunk","content":{"type":"text","text":"hi"}})");
  update(R"({"sessionUpdate":"current_mode_update","currentModeId":"build"})");
  update(R"({"sessionUpdate":"usage_update","used":1})");
  feed(R"({"jsonrpc":"2.0","method":"_opencode/whatever","params":{"sessionId":"ses_1"}})");
  feed(R"({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"ses_1"}})");
  EXPECT_FALSE(fake.is_finished(op.id())) << fake.failure(op.id());

  result(3, R"({"stopReason":"end_turn","usage":{"inputTokens":10,"outputTokens":3,)"
            R"("totalTokens":13,"cachedReadTokens":2},"_meta":{}})");
  ASSERT_TRUE(fake.is_completed(op.id())) << fake.failure(op.id());
  EXPECT_EQ(fake.completed[op.id()], J("{}"));

  std::vector<bj::value> events(fake.events.begin(), fake.events.end());
  std::vector<bj::value> expected = {
      J(R"({"event":"agent.thought_chunk","session_id":"ses_1","session_update":"agent_thought_chunk",)"
        R"("content":{"type":"text","text":"hmm"}})"),
      J(R"({"event":"agent.message_chunk","session_id":"ses_1","session_update":"agent_message_chunk",)"
        R"("messageId":"msg_1","content":{"type":"text","text":"OC-FAKE-"}})"),
      J(R"({"event":"tool.call","session_id":"ses_1","session_update":"tool_call","toolCallId":"call_1",)"
        R"("title":"printf","kind":"execute","status":"pending","rawInput":{"command":"printf x"},"locations":[]})"),
      J(R"({"event":"tool.call_update","session_id":"ses_1","session_update":"tool_call_update",)"
        R"("toolCallId":"call_1","status":"completed","rawOutput":{"output":"x"}})"),
      J(R"({"event":"session.plan","session_id":"ses_1","session_update":"plan",)"
        R"("entries":[{"content":"step","status":"pending"}]})"),
      J(R"({"event":"user.message_chunk","session_id":"ses_1","session_update":"user_message_chunk",)"
        R"("content":{"type":"text","text":"hi"}})"),
      J(R"({"event":"session.end","session_id":"ses_1","stop_reason":"end_turn",)"
        R"("usage":{"input_tokens":10,"output_tokens":3,"total_tokens":13,"cached_read_tokens":2},)"
        R"("_meta":{}})"),
  };
  EXPECT_EQ(events, expected);
  // session.end is emitted before the prompt completes.
  ASSERT_GE(fake.trace.size(), 2u);
  EXPECT_EQ(fake.trace[fake.trace.size() - 2], "emit:session.end");
  EXPECT_EQ(fake.trace.back(), "complete:" + std::to_string(op.id()));
  EXPECT_TRUE(nothing_sent());
}

TEST_F(AcpBackendTest, UpdateFieldsNeverShadowTheEnvelope) {
  make(gemini_profile());
  start();
  feed(R"({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"ses_1","update":)"
       R"({"sessionUpdate":"agent_message_chunk","event":"x","session_id":"y","content":{}}}})");
  ASSERT_EQ(fake.events.size(), 1u);
  EXPECT_EQ(fake.events[0].at("event"), "agent.message_chunk");
  EXPECT_EQ(fake.events[0].at("session_id"), "ses_1");
}

TEST_F(AcpBackendTest, SnakeCaseStopReasonAndUsage) {
  make(gemini_profile());
  start();
  auto op = prompt(3);
  result(3, R"({"stop_reason":"max_tokens","usage":{"input_tokens":5,"output_tokens":7}})");
  ASSERT_TRUE(fake.is_completed(op.id()));
  ASSERT_EQ(fake.events.size(), 1u);
  EXPECT_EQ(
      bj::value(fake.events[0]),
      J(R"({"event":"session.end","session_id":"ses_1","stop_reason":"max_tokens",)"
        R"("usage":{"input_tokens":5,"output_tokens":7,"total_tokens":12,"cached_read_tokens":0}})"));
}

TEST_F(AcpBackendTest, EndWithoutUsageKeepsOtherFields) {
  make(gemini_profile());
  start();
  auto op = prompt(3);
  result(3, R"({"stopReason":"end_turn","_meta":{"quota":{"token_count":{"input_tokens":10}}}})");
  ASSERT_TRUE(fake.is_completed(op.id()));
  EXPECT_EQ(bj::value(fake.events.at(0)),
            J(R"({"event":"session.end","session_id":"ses_1","stop_reason":"end_turn",)"
              R"("_meta":{"quota":{"token_count":{"input_tokens":10}}}})"));
}

TEST_F(AcpBackendTest, PromptWithoutStopReasonFails) {
  make(gemini_profile());
  start();
  auto op = prompt(3);
  result(3, R"({"usage":{}})");
  EXPECT_EQ(fake.failure(op.id()), "session/prompt response missing stopReason");
  EXPECT_TRUE(fake.events.empty());
}

TEST_F(AcpBackendTest, PromptErrorFailsWithItsMessage) {
  make(gemini_profile());
  start();
  auto op = prompt(3);
  error(3, "model exploded");
  EXPECT_EQ(fake.failure(op.id()), "model exploded");
  EXPECT_TRUE(fake.events.empty());
}

TEST_F(AcpBackendTest, ContentLengthFramedMessages) {
  make(gemini_profile());
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  sent();
  std::string body = R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":1}})";
  std::string block = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  backend->on_bytes(block.substr(0, 20));
  EXPECT_TRUE(nothing_sent());
  backend->on_bytes(block.substr(20));
  EXPECT_EQ(sent().as_object().at("method"), "session/new");
  body = R"({"jsonrpc":"2.0","id":2,"result":{"sessionId":"lsp"}})";
  backend->on_bytes("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(fake.completed[op.id()], J(R"({"session_id":"lsp"})"));
  EXPECT_TRUE(fake.fatals.empty());
}

// --- permissions ---------------------------------------------------------------------

TEST_F(AcpBackendTest, PermissionRequestWithIdZero) {
  make(opencode_profile());
  start();
  ask_permission("0");
  EXPECT_TRUE(nothing_sent());  // nothing is answered until the host decides
  ASSERT_EQ(fake.events.size(), 1u);
  EXPECT_EQ(bj::value(fake.events[0]),
            J(R"({"event":"permission.request","session_id":"ses_1","request_id":"0",)"
              R"("toolCall":{"toolCallId":"call_1","title":"printf hi","kind":"execute",)"
              R"("status":"pending","rawInput":{"command":"printf hi"}},)"
              R"("options":[{"optionId":"once","name":"Allow once","kind":"allow_once"},)"
              R"({"optionId":"always","name":"Always","kind":"allow_always"},)"
              R"({"optionId":"reject","name":"Reject","kind":"reject_once"}]})"));

  PermissionAnswer a;
  a.request_id = "0";
  a.allow = true;
  a.option_id = "always";
  auto op = answer(a);
  EXPECT_TRUE(fake.is_completed(op)) << fake.failure(op);
  EXPECT_EQ(
      sent(),
      J(R"({"jsonrpc":"2.0","id":0,"result":{"outcome":{"outcome":"selected","optionId":"always"}}})"));

  // Answered once: the request is gone.
  auto again = answer(a);
  EXPECT_EQ(fake.failure(again), "unknown permission request_id: 0");
  EXPECT_TRUE(nothing_sent());
}

TEST_F(AcpBackendTest, PermissionByKindAndWithMessage) {
  make(opencode_profile());
  start();
  ask_permission("0");
  ask_permission("1");
  PermissionAnswer allow;
  allow.request_id = "0";
  allow.allow = true;
  answer(allow);
  EXPECT_EQ(
      sent(),
      J(R"({"jsonrpc":"2.0","id":0,"result":{"outcome":{"outcome":"selected","optionId":"once"}}})"));
  PermissionAnswer reject;
  reject.request_id = "1";
  reject.allow = false;
  reject.message = "use ls instead";
  answer(reject);
  EXPECT_EQ(sent(), J(R"({"jsonrpc":"2.0","id":1,"result":{"outcome":{"outcome":"selected",)"
                      R"("optionId":"reject","message":"use ls instead"}}})"));
}

TEST_F(AcpBackendTest, PermissionOptionOfTheWrongKindIsRefused) {
  make(opencode_profile());
  start();
  ask_permission("0");
  PermissionAnswer a;
  a.request_id = "0";
  a.allow = true;
  a.option_id = "reject";
  auto op = answer(a);
  EXPECT_EQ(fake.failure(op), "permission option reject is of kind reject, not allow");
  a.option_id = "missing";
  op = answer(a);
  EXPECT_EQ(fake.failure(op), "permission option not found: missing");
  EXPECT_TRUE(nothing_sent());
  // The request is still pending and can be answered properly.
  a.option_id = "once";
  op = answer(a);
  EXPECT_TRUE(fake.is_completed(op));
  EXPECT_EQ(sent().as_object().at("id"), 0);
}

TEST_F(AcpBackendTest, PermissionWithoutOptionOfTheWantedKind) {
  make(gemini_profile());
  start();
  feed(
      R"({"jsonrpc":"2.0","id":4,"method":"session/request_permission","params":{"sessionId":"ses_1",)"
      R"("toolCall":{"toolCallId":"t"},"options":[{"optionId":"proceed_once","kind":"allow_once"},)"
      R"({"optionId":"weird","kind":"something_else"}]}})");
  PermissionAnswer a;
  a.request_id = "4";
  a.allow = false;
  auto op = answer(a);
  EXPECT_EQ(fake.failure(op), "permission request has no reject option");
  a.option_id = "weird";
  op = answer(a);
  EXPECT_EQ(fake.failure(op), "permission option weird is of kind unknown, not reject");
  EXPECT_TRUE(nothing_sent());
}

TEST_F(AcpBackendTest, PermissionCancelledOutcome) {
  make(opencode_profile());
  start();
  ask_permission("0");
  PermissionAnswer a;
  a.request_id = "0";
  a.cancelled = true;
  auto op = answer(a);
  EXPECT_TRUE(fake.is_completed(op));
  EXPECT_EQ(sent(), J(R"({"jsonrpc":"2.0","id":0,"result":{"outcome":{"outcome":"cancelled"}}})"));
}

TEST_F(AcpBackendTest, UnknownPermissionRequestFails) {
  make(opencode_profile());
  start();
  ask_permission("0");
  PermissionAnswer a;
  a.request_id = "7";
  a.allow = true;
  EXPECT_EQ(fake.failure(answer(a)), "unknown permission request_id: 7");
  a.request_id = "0";
  a.session_id = "other-session";
  EXPECT_EQ(fake.failure(answer(a)), "unknown permission request_id: 0");
  EXPECT_TRUE(nothing_sent());
}

TEST_F(AcpBackendTest, StringPermissionIdIsEchoedExactly) {
  make(opencode_profile());
  start();
  ask_permission(R"("perm-7")");
  EXPECT_EQ(fake.events.at(0).at("request_id"), "perm-7");
  PermissionAnswer a;
  a.request_id = "perm-7";
  a.allow = true;
  answer(a);
  EXPECT_EQ(
      sent(),
      J(R"({"jsonrpc":"2.0","id":"perm-7","result":{"outcome":{"outcome":"selected","optionId":"once"}}})"));
}

TEST_F(AcpBackendTest, SessionEndClearsPermissionCache) {
  make(opencode_profile());
  start();
  auto op = prompt(3);
  ask_permission("0");
  result(3, R"({"stopReason":"end_turn"})");
  ASSERT_TRUE(fake.is_completed(op.id()));
  PermissionAnswer a;
  a.request_id = "0";
  a.allow = true;
  EXPECT_EQ(fake.failure(answer(a)), "unknown permission request_id: 0");
}

TEST_F(AcpBackendTest, CancelNotifiesAndCancelsPendingPermissions) {
  make(opencode_profile());
  start();
  auto turn = prompt(3);
  ask_permission("0");
  ask_permission("1");
  ask_permission("2", "ses_other");
  auto op = fake.op();
  backend->cancel(op, "ses_1");
  EXPECT_TRUE(fake.is_completed(op.id()));
  auto messages = fake.take_messages();
  std::vector<bj::value> got(messages.begin(), messages.end());
  EXPECT_EQ(got,
            (std::vector<bj::value>{
                J(R"({"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"ses_1"}})"),
                J(R"({"jsonrpc":"2.0","id":0,"result":{"outcome":{"outcome":"cancelled"}}})"),
                J(R"({"jsonrpc":"2.0","id":1,"result":{"outcome":{"outcome":"cancelled"}}})"),
            }));
  // The turn ends when the agent answers the prompt.
  EXPECT_FALSE(fake.is_finished(turn.id())) << fake.failure(turn.id());
  result(3, R"({"stopReason":"cancelled"})");
  EXPECT_TRUE(fake.is_completed(turn.id()));
  EXPECT_EQ(fake.events.back().at("stop_reason"), "cancelled");
  // Another session's permission is untouched.
  PermissionAnswer a;
  a.session_id = "ses_other";
  a.request_id = "2";
  a.allow = true;
  EXPECT_TRUE(fake.is_completed(answer(a)));
}

// --- other agent requests, bad frames, close --------------------------------------------

TEST_F(AcpBackendTest, OtherAgentRequestsAreNotImplemented) {
  make(cursor_profile());
  feed(R"({"jsonrpc":"2.0","id":0,"method":"fs/read_text_file","params":{"path":"/etc/passwd"}})");
  feed(R"({"jsonrpc":"2.0","id":"q","method":"cursor/ask_question","params":{}})");
  auto messages = fake.take_messages();
  std::vector<bj::value> got(messages.begin(), messages.end());
  EXPECT_EQ(
      got,
      (std::vector<bj::value>{
          J(R"({"jsonrpc":"2.0","id":0,"error":{"code":-32601,"message":"method not implemented by avenor"}})"),
          J(R"({"jsonrpc":"2.0","id":"q","error":{"code":-32601,"message":"method not implemented by avenor"}})"),
      }));
  EXPECT_TRUE(fake.events.empty());
}

TEST_F(AcpBackendTest, UndecodableFrameIsFatal) {
  make(opencode_profile());
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  sent();
  backend->on_bytes(
      "Error: opencode crashed\n"
      R"({"jsonrpc":"2.0","id":1,"result":{}})"
      "\n");
  ASSERT_EQ(fake.fatals.size(), 1u);
  EXPECT_EQ(fake.fatals[0].rfind("acp: undecodable frame: invalid JSON", 0), 0u) << fake.fatals[0];
  EXPECT_NE(fake.fatals[0].find("Error: opencode crashed"), std::string::npos);
  // Nothing after the bad frame is processed.
  feed(R"({"jsonrpc":"2.0","id":1,"result":{}})");
  EXPECT_TRUE(nothing_sent());
  EXPECT_EQ(fake.fatals.size(), 1u);
  // The host then reports the close, which fails the start.
  backend->on_closed("acp: undecodable frame: invalid JSON");
  EXPECT_EQ(fake.failure(op.id()), "acp client exited: acp: undecodable frame: invalid JSON");
}

TEST_F(AcpBackendTest, NonRpcObjectIsFatal) {
  make(opencode_profile());
  feed(R"({"hello":"world"})");
  ASSERT_EQ(fake.fatals.size(), 1u);
  EXPECT_EQ(fake.fatals[0].rfind("acp: undecodable frame: ", 0), 0u);
}

TEST_F(AcpBackendTest, LongBadFrameIsQuotedShortOnACharacterBoundary) {
  make(opencode_profile());
  // 199 ASCII bytes, then two-byte characters: byte 200 is mid-character.
  std::string frame = std::string(199, 'x');
  for (int i = 0; i < 50; ++i) frame += "\u00e9";
  feed(frame);
  ASSERT_EQ(fake.fatals.size(), 1u);
  std::string quoted = fake.fatals[0].substr(fake.fatals[0].find("xxx"));
  EXPECT_EQ(quoted, std::string(199, 'x') + "...");
}

TEST_F(AcpBackendTest, CloseFailsEveryPendingOperation) {
  make(opencode_profile());
  start();
  auto turn = prompt(3);
  ask_permission("0");
  // A second start still waiting on session/new.
  auto second = fake.op();
  backend->start_session(second, std::nullopt);
  EXPECT_EQ(sent().as_object().at("method"), "session/new");

  backend->on_closed("exit status 1: stderr: boom");
  EXPECT_EQ(fake.failure(turn.id()), "acp client exited: exit status 1: stderr: boom");
  EXPECT_EQ(fake.failure(second.id()), "acp client exited: exit status 1: stderr: boom");

  // Everything afterwards fails at once, without writing.
  auto p = fake.op();
  backend->prompt(p, "ses_1", "again");
  EXPECT_EQ(fake.failure(p.id()), "acp client exited: exit status 1: stderr: boom");
  PermissionAnswer a;
  a.request_id = "0";
  a.allow = true;
  EXPECT_EQ(fake.failure(answer(a)), "acp client exited: exit status 1: stderr: boom");
  auto c = fake.op();
  backend->cancel(c, "ses_1");
  EXPECT_TRUE(fake.is_failed(c.id()));
  EXPECT_TRUE(nothing_sent());
}

TEST_F(AcpBackendTest, CloseDuringHandshakeAndCleanExit) {
  make(cursor_profile());
  auto op = fake.op();
  backend->start_session(op, std::nullopt);
  sent();
  result(1, "{}");  // now waiting on authenticate
  sent();
  backend->on_closed("");
  EXPECT_EQ(fake.failure(op.id()), "acp client exited");
}

// --- the shipped plugins, through the C ABI ------------------------------------------------

#ifdef AVENOR_BUILD_PLUGIN_DIR
struct PluginCase {
  std::string name, cli;
  std::uint32_t capabilities;
  std::vector<std::string> argv;       // for dir /work/proj
  std::vector<std::string> handshake;  // methods up to a started session
};

// Test names say which plugin; no byte dump of the parameter.
void PrintTo(const PluginCase& c, std::ostream* os) { *os << c.name; }

class AcpPluginTest : public ::testing::TestWithParam<PluginCase> {};

TEST_P(AcpPluginTest, DescriptorLaunchAndHandshake) {
  const PluginCase& c = GetParam();
  std::string path = std::string(AVENOR_BUILD_PLUGIN_DIR) + "/" + c.name + ".so";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not built";
  std::unique_ptr<void, int (*)(void*)> lib(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL), &dlclose);
  ASSERT_TRUE(lib) << dlerror();
  auto entry =
      reinterpret_cast<avenor_plugin_entry_fn>(dlsym(lib.get(), AVENOR_PLUGIN_ENTRY_SYMBOL));
  ASSERT_TRUE(entry);
  const avenor_plugin_descriptor* d = entry();
  EXPECT_EQ(d->abi_major, AVENOR_ABI_MAJOR);
  EXPECT_EQ(std::string(d->plugin_name), c.name);
  EXPECT_EQ(std::string(d->plugin_version), "0.1.0");
  ASSERT_EQ(d->backend_count, 1u);
  const avenor_backend_info& info = d->backends[0];
  EXPECT_EQ(std::string(info.name), c.name);
  EXPECT_EQ(std::string(info.cli), c.cli);
  EXPECT_EQ(info.capabilities, c.capabilities);
  EXPECT_EQ(info.thinking_levels, 0u);
  ASSERT_TRUE(info.doctor_checks_json);
  EXPECT_EQ(J(info.doctor_checks_json).at(0).at("argv"), J(R"([")" + c.cli + R"(","--version"])"));

  avenor::sdk::testing::FakeHost fake;
  auto sink = [](std::string* out) {
    return avenor_sink{out, [](void* ctx, avenor_str s) {
                         static_cast<std::string*>(ctx)->assign(s.data, s.size);
                       }};
  };
  std::string error;
  avenor_instance* instance = nullptr;
  std::string options = R"({"dir":"/work/proj","model":"fake/m","agent":"build"})";
  EXPECT_NE(d->vtable->create(avenor::sdk::to_abi("no-such-backend"), avenor::sdk::to_abi(options),
                              fake.api(), &instance, sink(&error)),
            0);
  ASSERT_EQ(d->vtable->create(avenor::sdk::to_abi(c.name), avenor::sdk::to_abi(options), fake.api(),
                              &instance, sink(&error)),
            0)
      << error;
  std::string launch;
  ASSERT_EQ(d->vtable->launch_spec(instance, sink(&launch), sink(&error)), 0) << error;
  EXPECT_EQ(J(launch).at("argv"), bj::value(bj::array(c.argv.begin(), c.argv.end())));

  d->vtable->start_session(instance, 1, avenor::sdk::to_abi("{}"));
  std::vector<std::string> methods;
  for (std::int64_t id = 1; !fake.is_completed(1) && id < 10; ++id) {
    auto messages = fake.take_messages();
    ASSERT_EQ(messages.size(), 1u);
    methods.emplace_back(messages[0].at("method").as_string());
    std::string result = methods.back() == "session/new" ? R"({"sessionId":"s1"})" : "{}";
    std::string reply =
        R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"result":)" + result + "}\n";
    d->vtable->on_bytes(instance, avenor::sdk::to_abi(reply));
  }
  EXPECT_EQ(methods, c.handshake);
  EXPECT_EQ(fake.completed[1], J(R"({"session_id":"s1"})"));
  d->vtable->destroy(instance);
  EXPECT_EQ(fake.finished_twice(), std::vector<std::uint64_t>{});
}

INSTANTIATE_TEST_SUITE_P(
    Shipped, AcpPluginTest,
    ::testing::Values(
        PluginCase{"opencode-acp",
                   "opencode",
                   AVENOR_CAP_RESUME | AVENOR_CAP_RESUME_NEW_PROCESS |
                       AVENOR_CAP_SUBPROCESS_DISCOVERY | AVENOR_CAP_PERMISSIONS |
                       AVENOR_CAP_MODEL_SELECTION,
                   {"opencode", "acp", "--pure", "--log-level", "WARN", "--cwd", "/work/proj"},
                   {"initialize", "session/new", "session/set_config_option", "session/set_mode"}},
        PluginCase{"gemini-acp",
                   "gemini",
                   AVENOR_CAP_RESUME | AVENOR_CAP_PERMISSIONS,
                   {"gemini", "--acp", "--approval-mode", "default"},
                   {"initialize", "session/new"}},
        PluginCase{"cursor-acp",
                   "agent",
                   AVENOR_CAP_RESUME | AVENOR_CAP_RESUME_NEW_PROCESS | AVENOR_CAP_PERMISSIONS,
                   {"agent", "acp"},
                   {"initialize", "authenticate", "session/new"}}),
    [](const ::testing::TestParamInfo<PluginCase>& info) {
      std::string name = info.param.name;
      std::erase(name, '-');
      return name;
    });
#endif

}  // namespace
