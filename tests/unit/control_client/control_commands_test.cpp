#include "control_client/control_commands.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "util/json_text.hpp"

namespace avenor::host::control_client {
namespace {

namespace bj = boost::json;

ControlRequest parse_ok(std::vector<std::string> words) {
  auto parsed = parse_control_command(words);
  if (auto* usage = std::get_if<UsageError>(&parsed)) {
    ADD_FAILURE() << "unexpected usage error: " << usage->text;
    return {};
  }
  return std::get<ControlRequest>(parsed);
}

UsageError parse_error(std::vector<std::string> words) {
  auto parsed = parse_control_command(words);
  if (!std::holds_alternative<UsageError>(parsed)) {
    ADD_FAILURE() << "expected a usage error for " << (words.empty() ? "" : words[0]);
    return {};
  }
  return std::get<UsageError>(parsed);
}

std::string params_text(const ControlRequest& r) {
  return r.params ? to_compact_json(*r.params) : "<none>";
}

TEST(ControlClientParse, StatusAndCancelTakeAnOptionalRuntimeId) {
  ControlRequest r = parse_ok({"status"});
  EXPECT_EQ(r.method, "status");
  EXPECT_EQ(params_text(r), "<none>");
  EXPECT_EQ(r.output, OutputKind::indented_json);

  r = parse_ok({"status", "rt_3"});
  EXPECT_EQ(params_text(r), R"({"runtime_id":"rt_3"})");

  r = parse_ok({"cancel"});
  EXPECT_EQ(r.method, "cancel");
  EXPECT_EQ(params_text(r), "<none>");
  EXPECT_EQ(r.output, OutputKind::text);
  EXPECT_EQ(r.success_text, "cancelled");
  EXPECT_EQ(params_text(parse_ok({"cancel", "rt_1"})), R"({"runtime_id":"rt_1"})");
  // An empty runtime id is an empty field: omitted.
  EXPECT_EQ(params_text(parse_ok({"cancel", ""})), "<none>");
}

TEST(ControlClientParse, ListAndTailSendNoParams) {
  ControlRequest r = parse_ok({"list"});
  EXPECT_EQ(r.method, "list");
  EXPECT_EQ(params_text(r), "<none>");
  EXPECT_EQ(r.output, OutputKind::indented_json);

  r = parse_ok({"tail"});
  EXPECT_EQ(r.method, "subscribe");
  EXPECT_EQ(params_text(r), "<none>");
  EXPECT_EQ(r.output, OutputKind::event_stream);
}

TEST(ControlClientParse, PromptCommands) {
  ControlRequest r = parse_ok({"prompt", "do more"});
  EXPECT_EQ(r.method, "prompt");
  EXPECT_EQ(params_text(r), R"({"text":"do more"})");
  EXPECT_EQ(r.success_text, "prompt queued");
  EXPECT_EQ(params_text(parse_ok({"prompt", "x", "rt_2"})), R"({"text":"x","runtime_id":"rt_2"})");
  // Words after the command are not flags: a prompt may start with dashes.
  EXPECT_EQ(params_text(parse_ok({"prompt", "--verbose please"})),
            R"({"text":"--verbose please"})");

  r = parse_ok({"interrupt-and-prompt", "stop that"});
  EXPECT_EQ(r.method, "interrupt_and_prompt");
  EXPECT_EQ(params_text(r), R"({"text":"stop that","keep_queue":false})");
  EXPECT_EQ(r.success_text, "interrupt queued");
  EXPECT_EQ(params_text(parse_ok({"interrupt-and-prompt", "t", "rt_4"})),
            R"({"text":"t","keep_queue":false,"runtime_id":"rt_4"})");
}

TEST(ControlClientParse, AnswerPermissionAndShutdown) {
  ControlRequest r = parse_ok({"answer-permission", "7", "allow_once"});
  EXPECT_EQ(r.method, "answer_permission");
  EXPECT_EQ(params_text(r), R"({"request_id":"7","option_id":"allow_once"})");
  EXPECT_EQ(r.success_text, "permission answered");
  EXPECT_EQ(params_text(parse_ok({"answer-permission", "7", "reject", "rt_1"})),
            R"({"request_id":"7","option_id":"reject","runtime_id":"rt_1"})");

  r = parse_ok({"shutdown"});
  EXPECT_EQ(r.method, "shutdown");
  EXPECT_EQ(params_text(r), "<none>");
  EXPECT_EQ(r.success_text, "shutting down");
  EXPECT_EQ(params_text(parse_ok({"shutdown", "kill"})), R"({"mode":"kill"})");
  EXPECT_EQ(params_text(parse_ok({"shutdown", "graceful"})), R"({"mode":"graceful"})");
}

TEST(ControlClientParse, ArityErrors) {
  UsageError e = parse_error({"prompt"});
  EXPECT_EQ(e.text, "avenor control: prompt: missing <text>\n");
  EXPECT_TRUE(e.append_usage);
  EXPECT_EQ(parse_error({"answer-permission", "7"}).text,
            "avenor control: answer-permission: missing <option-id>\n");
  EXPECT_EQ(parse_error({"status", "a", "b"}).text,
            "avenor control: status: too many arguments (usage: status [runtime-id])\n");
  EXPECT_EQ(parse_error({"list", "x"}).text,
            "avenor control: list: too many arguments (usage: list)\n");
  EXPECT_EQ(parse_error({"tail", "x"}).text,
            "avenor control: tail: too many arguments (usage: tail)\n");
  EXPECT_EQ(parse_error({"shutdown", "kill", "now"}).text,
            "avenor control: shutdown: too many arguments (usage: shutdown [graceful|kill])\n");
}

TEST(ControlClientParse, UnknownAndMissingCommand) {
  UsageError e = parse_error({"stats"});
  EXPECT_EQ(e.text, "avenor control: unknown command \"stats\"\n");
  EXPECT_TRUE(e.append_usage);
  EXPECT_EQ(parse_error({}).text, "avenor control: missing command\n");
}

TEST(ControlClientParse, UsageHeaderListsEveryCommand) {
  const std::string usage = control_usage_header();
  EXPECT_EQ(usage.rfind("Usage: avenor control --socket <path> <command> [args]\n", 0), 0u);
  for (const char* synopsis :
       {"status [runtime-id]", "list", "tail", "spawn <flags>", "cancel [runtime-id]",
        "prompt <text> [runtime-id]", "interrupt-and-prompt <text> [runtime-id]",
        "answer-permission <request-id> <option-id> [runtime-id]", "shutdown [graceful|kill]",
        "result [runtime-id]", "history <runtime-id> [limit]",
        "wait-turn <runtime-id> [timeout-ms]", "identity"})
    EXPECT_NE(usage.find(std::string("\n  ") + synopsis + " "), std::string::npos) << synopsis;
}

TEST(ControlClientSpawn, FlagsBecomeParams) {
  ControlRequest r = parse_ok({"spawn",
                               "--prompt",
                               "hi",
                               "-dir=/w",
                               "--agent",
                               "build",
                               "--label",
                               "L",
                               "--model",
                               "m/x",
                               "--thinking",
                               "high",
                               "--backend",
                               "gemini-acp",
                               "--server-url",
                               "http://127.0.0.1:1",
                               "--on-event",
                               "/e.ndjson",
                               "--sentinel-file",
                               "/s.env",
                               "--permission-handler",
                               "file:/p",
                               "--auto-approve",
                               "--timeout",
                               "90",
                               "--max-retries",
                               "2"});
  EXPECT_EQ(r.method, "spawn");
  EXPECT_EQ(r.output, OutputKind::indented_json);
  ASSERT_TRUE(r.params);
  const bj::object expected{{"prompt", "hi"},
                            {"dir", "/w"},
                            {"agent", "build"},
                            {"label", "L"},
                            {"model", "m/x"},
                            {"thinking", "high"},
                            {"backend", "gemini-acp"},
                            {"server_url", "http://127.0.0.1:1"},
                            {"on_event", "/e.ndjson"},
                            {"sentinel_file", "/s.env"},
                            {"permission_handler", "file:/p"},
                            {"auto_approve", true},
                            {"timeout", 90},
                            {"max_retries", 2}};
  EXPECT_EQ(*r.params, expected) << to_compact_json(*r.params);
}

TEST(ControlClientSpawn, EmptiesAndNonPositiveNumbersAreOmitted) {
  ControlRequest r = parse_ok({"spawn", "--prompt-file", "/p.txt", "--dir", "", "--timeout", "0",
                               "--max-retries", "-1", "--auto-approve=false", "--model="});
  EXPECT_EQ(params_text(r), R"({"prompt_file":"/p.txt"})");
  EXPECT_EQ(to_compact_json(spawn_params(SpawnOptions{})), "{}");
  SpawnOptions o;
  o.timeout_seconds = -5;
  o.max_retries = 1;
  EXPECT_EQ(to_compact_json(spawn_params(o)), R"({"max_retries":1})");
}

TEST(ControlClientSpawn, ThinkingVocabulary) {
  for (const char* level : {"off", "minimal", "low", "medium", "high", "xhigh", "max"})
    EXPECT_EQ(params_text(parse_ok({"spawn", "--prompt", "p", "--thinking", level})),
              std::string(R"({"prompt":"p","thinking":")") + level + "\"}");
  UsageError e = parse_error({"spawn", "--prompt", "p", "--thinking", "High"});
  // One line; control_main adds the hint to read spawn's usage.
  EXPECT_EQ(e.text, "avenor control: spawn: invalid --thinking \"High\"\n");
  EXPECT_FALSE(e.append_usage);
  EXPECT_FALSE(e.help);
}

TEST(ControlClientSpawn, PromptSources) {
  const std::string missing =
      "avenor control: spawn: one of --prompt, --prompt-file and --loop-file is required\n";
  EXPECT_EQ(parse_error({"spawn"}).text.rfind(missing, 0), 0u);
  EXPECT_EQ(parse_error({"spawn", "--prompt", ""}).text.rfind(missing, 0), 0u);
  EXPECT_EQ(parse_error({"spawn", "--prompt", "a", "--prompt-file", "b"})
                .text.rfind("avenor control: spawn: --prompt and --prompt-file are mutually "
                            "exclusive\n",
                            0),
            0u);
  // control.md §10.4 step 6: a loop file alone, or with one prompt source.
  EXPECT_EQ(params_text(parse_ok({"spawn", "--loop-file", "/l.yaml"})),
            R"({"loop_file":"/l.yaml"})");
  EXPECT_EQ(params_text(parse_ok({"spawn", "--loop-file", "/l.yaml", "--prompt", "go"})),
            R"({"prompt":"go","loop_file":"/l.yaml"})");
  EXPECT_EQ(params_text(parse_ok({"spawn", "--loop-file", "/l.yaml", "--prompt-file", "/p"})),
            R"({"prompt_file":"/p","loop_file":"/l.yaml"})");
}

TEST(ControlClientSpawn, SessionParentAndIdempotencyFlags) {
  ControlRequest r =
      parse_ok({"spawn", "--prompt", "p", "--agent-profile", "strict", "--session-id", "ses_1",
                "--parent-id", "rt_2", "--idempotency-key", "k-9"});
  EXPECT_EQ(params_text(r),
            R"({"prompt":"p","agent_profile":"strict","session_id":"ses_1","parent_id":"rt_2",)"
            R"("idempotency_key":"k-9"})");
  // --resume is an alias of --session-id (the child's flag name).
  EXPECT_EQ(params_text(parse_ok({"spawn", "--prompt", "p", "--resume", "ses_2"})),
            R"({"prompt":"p","session_id":"ses_2"})");
  EXPECT_EQ(params_text(
                parse_ok({"spawn", "--prompt", "p", "--resume", "ses_3", "--session-id", "ses_3"})),
            R"({"prompt":"p","session_id":"ses_3"})");
  UsageError e =
      parse_error({"spawn", "--prompt", "p", "--resume", "ses_3", "--session-id", "ses_4"});
  EXPECT_EQ(e.text.rfind("avenor control: spawn: --session-id and --resume name different "
                         "sessions\n",
                         0),
            0u)
      << e.text;
  const UsageError help = parse_error({"spawn", "--help"});
  EXPECT_TRUE(help.help);
  for (const char* flag :
       {"-loop-file", "-agent-profile", "-session-id", "-resume", "-parent-id", "-idempotency-key"})
    EXPECT_NE(help.text.find(std::string("  ") + flag + " "), std::string::npos) << flag;
}

TEST(ControlClientParse, ResultHistoryWaitTurnIdentity) {
  ControlRequest r = parse_ok({"result"});
  EXPECT_EQ(r.method, "result");
  EXPECT_EQ(params_text(r), "<none>");
  EXPECT_EQ(r.output, OutputKind::indented_json);
  EXPECT_EQ(r.call_timeout, ControlRequest::kDefaultCallTimeout);
  EXPECT_EQ(params_text(parse_ok({"result", "rt_1"})), R"({"runtime_id":"rt_1"})");

  r = parse_ok({"history", "rt_1"});
  EXPECT_EQ(r.method, "history");
  EXPECT_EQ(params_text(r), R"({"runtime_id":"rt_1"})");
  EXPECT_EQ(r.output, OutputKind::indented_json);
  EXPECT_EQ(params_text(parse_ok({"history", "rt_1", "20"})),
            R"({"runtime_id":"rt_1","limit":20})");
  EXPECT_EQ(params_text(parse_ok({"history", "rt_1", "0"})), R"({"runtime_id":"rt_1","limit":0})");

  r = parse_ok({"identity"});
  EXPECT_EQ(r.method, "identity");
  EXPECT_EQ(params_text(r), "<none>");
  EXPECT_EQ(r.output, OutputKind::indented_json);
}

TEST(ControlClientParse, WaitTurnClientTimeoutOutlastsTheServers) {
  using std::chrono::milliseconds;
  ControlRequest r = parse_ok({"wait-turn", "rt_1", "5000"});
  EXPECT_EQ(r.method, "wait_turn");
  EXPECT_EQ(params_text(r), R"({"runtime_id":"rt_1","timeout_ms":5000})");
  EXPECT_EQ(r.output, OutputKind::indented_json);
  EXPECT_EQ(r.call_timeout, milliseconds(35000));

  // 0 and an absent timeout mean no server limit: the client waits as long.
  r = parse_ok({"wait-turn", "rt_1", "0"});
  EXPECT_EQ(params_text(r), R"({"runtime_id":"rt_1","timeout_ms":0})");
  EXPECT_EQ(r.call_timeout, std::nullopt);
  r = parse_ok({"wait-turn", "rt_1"});
  EXPECT_EQ(params_text(r), R"({"runtime_id":"rt_1"})");
  EXPECT_EQ(r.call_timeout, std::nullopt);
  // Too large for the clock: no limit rather than an overflow.
  EXPECT_EQ(parse_ok({"wait-turn", "rt_1", "9000000000000000000"}).call_timeout, std::nullopt);
}

TEST(ControlClientParse, CountArgumentErrors) {
  EXPECT_EQ(parse_error({"wait-turn"}).text, "avenor control: wait-turn: missing <runtime-id>\n");
  EXPECT_EQ(parse_error({"history"}).text, "avenor control: history: missing <runtime-id>\n");
  UsageError e = parse_error({"wait-turn", "rt_1", "5s"});
  EXPECT_EQ(e.text,
            "avenor control: wait-turn: invalid <timeout-ms> \"5s\": want a non-negative "
            "integer\n");
  EXPECT_TRUE(e.append_usage);
  EXPECT_EQ(parse_error({"history", "rt_1", "-1"}).text,
            "avenor control: history: invalid <limit> \"-1\": want a non-negative integer\n");
  EXPECT_EQ(parse_error({"history", "rt_1", "1", "2"}).text,
            "avenor control: history: too many arguments (usage: history <runtime-id> [limit])\n");
  EXPECT_EQ(parse_error({"identity", "x"}).text,
            "avenor control: identity: too many arguments (usage: identity)\n");
}

TEST(ControlClientSpawn, FlagErrorsUseGoFlagTexts) {
  UsageError e = parse_error({"spawn", "--prompt", "p", "--timeout", "30s"});
  EXPECT_EQ(e.text,
            "avenor control: spawn: invalid value \"30s\" for flag -timeout: parse error\n");
  EXPECT_FALSE(e.append_usage);
  EXPECT_FALSE(e.help);

  e = parse_error({"spawn", "--prompt", "p", "--session", "x"});
  EXPECT_EQ(e.text, "avenor control: spawn: flag provided but not defined: -session\n");

  // Help is no error: the usage, for stdout.
  e = parse_error({"spawn", "-h"});
  EXPECT_TRUE(e.help);
  EXPECT_EQ(e.text.rfind("Usage: avenor control --socket <path> spawn [flags]\n", 0), 0u) << e.text;
  EXPECT_NE(e.text.find("-max-retries int"), std::string::npos) << e.text;

  e = parse_error({"spawn", "--prompt", "p", "extra"});
  EXPECT_EQ(e.text.rfind("avenor control: spawn: unexpected argument \"extra\"\n", 0), 0u)
      << e.text;
}

// "Indented JSON" is Go's json.MarshalIndent(v, "", "  ").
TEST(ControlClientPretty, MarshalIndentLayout) {
  const bj::value snapshot =
      bj::parse(R"({"run_id":"r1","pending_permission":false,"latest_seq":12,"ratio":1.5,)"
                R"("permission":null,"children":[],"meta":{},"list":[1,{"a":"x\ny"}]})");
  EXPECT_EQ(to_pretty_json(snapshot),
            "{\n"
            "  \"run_id\": \"r1\",\n"
            "  \"pending_permission\": false,\n"
            "  \"latest_seq\": 12,\n"
            "  \"ratio\": 1.5,\n"
            "  \"permission\": null,\n"
            "  \"children\": [],\n"
            "  \"meta\": {},\n"
            "  \"list\": [\n"
            "    1,\n"
            "    {\n"
            "      \"a\": \"x\\ny\"\n"
            "    }\n"
            "  ]\n"
            "}");
  EXPECT_EQ(to_pretty_json(bj::array{}), "[]");
  EXPECT_EQ(to_pretty_json(nullptr), "null");
}

}  // namespace
}  // namespace avenor::host::control_client
