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
        "answer-permission <request-id> <option-id> [runtime-id]", "shutdown [graceful|kill]"})
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
  EXPECT_EQ(e.text.rfind("avenor control: spawn: invalid --thinking \"High\"\n", 0), 0u) << e.text;
  EXPECT_NE(e.text.find("Usage: avenor control --socket <path> spawn [flags]"), std::string::npos);
  EXPECT_FALSE(e.append_usage);
}

TEST(ControlClientSpawn, ExactlyOnePromptSource) {
  const std::string message =
      "avenor control: spawn: exactly one of --prompt and --prompt-file is required\n";
  EXPECT_EQ(parse_error({"spawn"}).text.rfind(message, 0), 0u);
  EXPECT_EQ(parse_error({"spawn", "--prompt", ""}).text.rfind(message, 0), 0u);
  EXPECT_EQ(parse_error({"spawn", "--prompt", "a", "--prompt-file", "b"}).text.rfind(message, 0),
            0u);
}

TEST(ControlClientSpawn, FlagErrorsUseGoFlagTexts) {
  UsageError e = parse_error({"spawn", "--prompt", "p", "--timeout", "30s"});
  EXPECT_EQ(e.text.rfind("invalid value \"30s\" for flag -timeout: parse error\n", 0), 0u)
      << e.text;
  EXPECT_NE(e.text.find("-max-retries int"), std::string::npos) << e.text;
  EXPECT_FALSE(e.append_usage);

  e = parse_error({"spawn", "--prompt", "p", "--resume", "x"});
  EXPECT_EQ(e.text.rfind("flag provided but not defined: -resume\n", 0), 0u) << e.text;

  e = parse_error({"spawn", "-h"});
  EXPECT_EQ(e.text.rfind("Usage: avenor control --socket <path> spawn [flags]\n", 0), 0u) << e.text;

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
