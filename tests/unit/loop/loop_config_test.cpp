// The loop file model (events.md §9.1): every validation error with its exact
// message, the three formats giving one model, prompt files, nested loop files.
#include "loop/loop_config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "../host/test_support.hpp"
#include "loop/loop_file_tree.hpp"

namespace avenor::host {
namespace {

namespace fs = std::filesystem;

// Replaces every "{dir}" with the scratch directory.
std::string with_dir(std::string text, const fs::path& dir) {
  for (std::size_t at = text.find("{dir}"); at != std::string::npos; at = text.find("{dir}", at))
    text.replace(at, 5, dir.string());
  return text;
}

std::string load_error(const fs::path& file) {
  try {
    load_loop_config(file);
  } catch (const LoopConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<std::string> names(const std::vector<LoopPhase>& phases) {
  std::vector<std::string> out;
  for (const LoopPhase& p : phases) out.push_back(p.name);
  return out;
}

std::string rendered(const LoopPhase& phase) { return phase.prompt.render(TemplateValues{}); }

// ---------------------------------------------------------------------------------------------
// Validation errors: one row per rule, the file named c.<ext> in a fresh directory.
// ---------------------------------------------------------------------------------------------

struct ErrorCase {
  std::string label;
  std::string file;                          // name of the loop file
  std::string content;                       // its text
  std::string expected;                      // exact what(), {dir} = scratch dir
  std::map<std::string, std::string> extra;  // other files in the directory
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.label; }

class LoopConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoopConfigErrors, ExactMessage) {
  const ErrorCase& c = GetParam();
  test::TempDir dir;
  test::write_file(dir / c.file, c.content);
  for (const auto& [name, text] : c.extra) test::write_file(dir / name, text);
  EXPECT_EQ(load_error(dir / c.file), with_dir(c.expected, dir.path()));
}

constexpr const char* kOkPhase = R"({"name": "a", "prompt": "p"})";

std::string json_with(const std::string& members) {
  return std::string(R"({"loop": [)") + kOkPhase + "]" + (members.empty() ? "" : ", " + members) +
         "}";
}

std::string json_phase(const std::string& phase) {
  return std::string(R"({"loop": [)") + phase + "]}";
}

const std::vector<ErrorCase> kErrorCases = {
    // Reading and syntax.
    {"json_syntax",
     "c.json",
     "{\"loop\": [\n  {\"name\": \"a\",}\n]}",
     "loop config: parse {dir}/c.json: line 2, column 16: syntax error",
     {}},
    {"json_trailing_data",
     "c.json",
     json_with("") + " {}",
     "loop config: parse {dir}/c.json: line 1, column 42: extra data",
     {}},
    {"json_empty_file",
     "c.json",
     "",
     "loop config: parse {dir}/c.json: line 1, column 1: "
     "incomplete JSON",
     {}},
    {"yaml_syntax",
     "c.yaml",
     "loop: [\n  {name: a\n",
     "loop config: parse {dir}/c.yaml: line 3, column 1: end of map flow not found",
     {}},
    {"yaml_two_documents",
     "c.yaml",
     "loop:\n  - {name: a, prompt: p}\n---\npre: []\n",
     "loop config: parse {dir}/c.yaml: line 4, column 1: expected one YAML document, found 2",
     {}},
    {"yaml_empty_file", "c.yml", "", "loop config: parse {dir}/c.yml: empty YAML document", {}},
    {"yaml_only_comments",
     "c.yml",
     "# nothing here\n",
     "loop config: parse {dir}/c.yml: empty YAML document",
     {}},
    {"yaml_empty_document",
     "c.yaml",
     "---\n",
     "loop config: parse {dir}/c.yaml: empty YAML document",
     {}},
    {"yaml_duplicate_key",
     "c.yaml",
     "loop:\n  - name: a\n    name: b\n",
     "loop config: parse {dir}/c.yaml: line 3, column 5: duplicate key \"name\"",
     {}},
    {"yaml_bad_tag",
     "c.yaml",
     "max_iterations: !!int three\n",
     "loop config: parse {dir}/c.yaml: line 1, column 17: cannot read \"three\" as !!int",
     {}},
    {"toml_syntax",
     "c.toml",
     "[[loop]]\nname = \"a\nprompt = \"p\"\n",
     "loop config: parse {dir}/c.toml: line 2, column 10: Error while parsing string: unescaped "
     "control characters other than TAB (U+0009) are explicitly prohibited",
     {}},
    {"toml_redefined_key",
     "c.toml",
     "max_iterations = 1\nmax_iterations = 2\n",
     "loop config: parse {dir}/c.toml: line 2, column 18: Error while parsing key-value pair: "
     "cannot redefine existing integer 'max_iterations'",
     {}},

    // Top level.
    {"top_level_array", "c.json", "[]", "loop config: top level must be an object, got array", {}},
    {"top_level_yaml_scalar",
     "c.yaml",
     "hello\n",
     "loop config: top level must be an object, got string",
     {}},
    {"unknown_top_field",
     "c.json",
     json_with(R"("max_iteration": 3)"),
     "loop config: unknown field \"max_iteration\"",
     {}},
    {"duplicate_top_field_by_case",
     "c.json",
     json_with(R"("Max_Iterations": 3, "MAX_ITERATIONS": 4)"),
     "loop config: duplicate field \"MAX_ITERATIONS\"",
     {}},
    {"max_iterations_string",
     "c.json",
     json_with(R"("max_iterations": "3")"),
     "loop config: max_iterations must be an integer",
     {}},
    {"max_iterations_fraction",
     "c.json",
     json_with(R"("max_iterations": 2.5)"),
     "loop config: max_iterations must be an integer",
     {}},
    {"max_iterations_bool",
     "c.json",
     json_with(R"("max_iterations": true)"),
     "loop config: max_iterations must be an integer",
     {}},
    {"max_iterations_huge",
     "c.json",
     json_with(R"("max_iterations": 3000000000)"),
     "loop config: max_iterations is out of range",
     {}},
    {"max_iterations_negative",
     "c.json",
     json_with(R"("max_iterations": -1)"),
     "loop config: max_iterations must be >= 1 when loop phases are present",
     {}},
    {"no_phases", "c.json", "{}", "loop config: at least one of pre or loop must be non-empty", {}},
    {"only_post",
     "c.json",
     std::string(R"({"post": [)") + kOkPhase + "]}",
     "loop config: at least one of pre or loop must be non-empty",
     {}},
    {"empty_arrays",
     "c.yaml",
     "pre: []\nloop: ~\n",
     "loop config: at least one of pre or loop must be non-empty",
     {}},
    {"phases_not_array",
     "c.json",
     R"({"pre": {"name": "a", "prompt": "p"}})",
     "loop config: pre must be an array of phases",
     {}},

    // Phase names.
    {"phase_not_object",
     "c.json",
     R"({"pre": [{"name": "a", "prompt": "p"}, "b"]})",
     "loop config: pre phase[index 1]: phase must be an object, got string",
     {}},
    {"name_missing",
     "c.json",
     json_phase(R"({"prompt": "p"})"),
     "loop config: loop phase[index 0]: name must not be empty",
     {}},
    {"name_empty",
     "c.json",
     R"({"pre": [{"name": "a", "prompt": "p"}], "post": [{"name": ""}]})",
     "loop config: post phase[index 0]: name must not be empty",
     {}},
    {"name_blank",
     "c.json",
     json_phase(R"({"name": "  ", "prompt": "p"})"),
     "loop config: loop phase[index 0]: name must not be empty",
     {}},
    {"name_null",
     "c.yaml",
     "pre:\n  - name:\n    prompt: p\n",
     "loop config: pre phase[index 0]: name must not be empty",
     {}},
    {"name_not_string",
     "c.json",
     json_phase(R"({"name": 7, "prompt": "p"})"),
     "loop config: loop phase[index 0]: name must be a string",
     {}},
    {"name_reserved",
     "c.json",
     json_phase(R"x({"name": "(initial)", "prompt": "p"})x"),
     "loop config: loop phase[index 0]: name \"(initial)\" is reserved",
     {}},
    {"name_duplicate_within",
     "c.json",
     R"({"loop": [{"name": "a", "prompt": "p"}, {"name": "a", "prompt": "q"}]})",
     "loop config: duplicate phase name: \"a\"",
     {}},
    {"name_duplicate_across",
     "c.json",
     R"({"pre": [{"name": "x", "prompt": "p"}], "loop": [{"name": "y", "prompt": "p"}],
         "post": [{"name": "x", "prompt": "q"}]})",
     "loop config: duplicate phase name: \"x\"",
     {}},

    // Phase fields.
    {"unknown_phase_field",
     "c.json",
     json_phase(R"({"name": "a", "prompt": "p", "promt": "q"})"),
     "loop config: phase[name a]: unknown field \"promt\"",
     {}},
    {"duplicate_phase_field_by_case",
     "c.json",
     json_phase(R"({"name": "a", "prompt": "p", "Prompt": "q"})"),
     "loop config: phase[name a]: duplicate field \"Prompt\"",
     {}},
    {"agent_rejected",
     "c.json",
     json_phase(R"({"name": "a", "prompt": "p", "agent": "x"})"),
     "loop config: phase[name a]: agent is not supported in loop configs (phases use the "
     "run-level identity)",
     {}},
    {"model_rejected",
     "c.yaml",
     "loop:\n  - name: a\n    prompt: p\n    Model: gpt\n",
     "loop config: phase[name a]: model is not supported in loop configs (phases use the "
     "run-level identity)",
     {}},
    {"conditional_rejected",
     "c.json",
     json_phase(R"({"name": "a", "prompt": "p", "conditional": null})"),
     "loop config: phase[name a]: conditional is not supported in loop configs (phases use the "
     "run-level identity)",
     {}},
    {"prompt_not_string",
     "c.json",
     json_phase(R"({"name": "a", "prompt": 5})"),
     "loop config: phase[name a]: prompt must be a string",
     {}},
    {"prompt_file_not_string",
     "c.json",
     json_phase(R"({"name": "a", "prompt_file": ["x"]})"),
     "loop config: phase[name a]: prompt_file must be a string",
     {}},
    {"loop_file_not_string",
     "c.json",
     json_phase(R"({"name": "a", "loop_file": true})"),
     "loop config: phase[name a]: loop_file must be a string",
     {}},
    {"resume_not_bool",
     "c.json",
     json_phase(R"({"name": "a", "prompt": "p", "resume_from_previous": "yes"})"),
     "loop config: phase[name a]: resume_from_previous must be a boolean",
     {}},
    {"prompt_missing",
     "c.json",
     json_phase(R"({"name": "a"})"),
     "loop config: phase[name a]: prompt must not be empty (set prompt, prompt_file, or "
     "loop_file)",
     {}},
    {"prompt_blank",
     "c.json",
     json_phase(R"({"name": "a", "prompt": " \n\t "})"),
     "loop config: phase[name a]: prompt must not be empty (set prompt, prompt_file, or "
     "loop_file)",
     {}},
    {"prompt_and_prompt_file",
     "c.json",
     json_phase(R"({"name": "a", "prompt": "p", "prompt_file": "p.md"})"),
     "loop config: phase[name a]: prompt and prompt_file are mutually exclusive",
     {{"p.md", "text"}}},
    {"loop_file_and_prompt",
     "c.json",
     json_phase(R"({"name": "a", "prompt": "p", "loop_file": "n.json"})"),
     "loop config: phase[name a]: loop_file is exclusive with prompt and prompt_file",
     {}},
    {"loop_file_and_prompt_file",
     "c.json",
     json_phase(R"({"name": "a", "prompt_file": "p.md", "loop_file": "n.json"})"),
     "loop config: phase[name a]: loop_file is exclusive with prompt and prompt_file",
     {}},
    {"prompt_file_missing",
     "c.json",
     json_phase(R"({"name": "a", "prompt_file": "nope.md"})"),
     "loop config: phase[name a]: prompt_file {dir}/nope.md: No such file or directory",
     {}},
    {"prompt_file_directory",
     "c.json",
     json_phase(R"({"name": "a", "prompt_file": "."})"),
     "loop config: phase[name a]: prompt_file {dir}/.: Is a directory",
     {}},
    {"prompt_file_blank",
     "c.json",
     json_phase(R"({"name": "a", "prompt_file": "p.md"})"),
     "loop config: phase[name a]: prompt_file {dir}/p.md is empty",
     {{"p.md", "\n  \n"}}},

    // Nested loop files: the inner error, prefixed with the phase that names the file.
    {"nested_missing",
     "c.json",
     json_phase(R"({"name": "sub", "loop_file": "n.yaml"})"),
     "loop config: phase[name sub]: loop_file {dir}/n.yaml: read {dir}/n.yaml: No such file or "
     "directory",
     {}},
    {"nested_invalid",
     "c.json",
     json_phase(R"({"name": "sub", "loop_file": "n.yaml"})"),
     "loop config: phase[name sub]: loop_file {dir}/n.yaml: phase[name inner]: prompt must not be "
     "empty (set prompt, prompt_file, or loop_file)",
     {{"n.yaml", "loop:\n  - name: inner\n"}}},
    {"nested_cycle_self",
     "a.json",
     json_phase(R"({"name": "again", "loop_file": "a.json"})"),
     "loop config: phase[name again]: loop_file {dir}/a.json: nested loop_file cycle: a.json -> "
     "a.json",
     {}},
    {"nested_cycle_two_files",
     "a.json",
     json_phase(R"({"name": "x", "loop_file": "b.yaml"})"),
     "loop config: phase[name x]: loop_file {dir}/b.yaml: phase[name y]: loop_file "
     "{dir}/./a.json: nested loop_file cycle: a.json -> b.yaml -> a.json",
     {{"b.yaml", "pre:\n  - {name: y, loop_file: ./a.json}\n"}}},
};

INSTANTIATE_TEST_SUITE_P(LoopConfig, LoopConfigErrors, ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return info.param.label; });

// The unreadable row loads a file that is not there.
TEST(LoopConfigRead, MissingFileNamesThePath) {
  test::TempDir dir;
  EXPECT_EQ(load_error(dir / "missing.json"),
            "loop config: read " + (dir / "missing.json").string() + ": No such file or directory");
}

TEST(LoopConfigTemplate, PromptSyntaxErrorIsWrappedWithThePhase) {
  test::TempDir dir;
  test::write_file(dir / "c.json", json_phase(R"({"name": "a", "prompt": "line one\n{{.Nope}}"})"));
  const std::string error = load_error(dir / "c.json");
  EXPECT_TRUE(error.starts_with("loop config: phase[name a]: prompt: template: line 2: ")) << error;
}

TEST(LoopConfigTemplate, PromptFileSyntaxErrorNamesTheFile) {
  test::TempDir dir;
  test::write_file(dir / "p.md", "ok\n\n{{.Nope}}\n");
  test::write_file(dir / "c.json", json_phase(R"({"name": "a", "prompt_file": "p.md"})"));
  const std::string error = load_error(dir / "c.json");
  const std::string expected =
      "loop config: phase[name a]: prompt_file " + (dir / "p.md").string() + ": template: line 3: ";
  EXPECT_TRUE(error.starts_with(expected)) << error;
}

// ---------------------------------------------------------------------------------------------
// One model from three formats.
// ---------------------------------------------------------------------------------------------

constexpr const char* kJsonExample = R"({
  "max_iterations": 4,
  "pre": [{"name": "plan", "prompt": "Write a plan."}],
  "loop": [
    {"name": "build", "prompt_file": "build.md"},
    {"name": "review", "prompt": "Review it.", "resume_from_previous": true,
     "requires": ["build"], "on_incomplete": "retry"}
  ],
  "post": [{"name": "wrap", "loop_file": "wrap.yaml"}]
})";

constexpr const char* kYamlExample = R"(max_iterations: 4
pre:
  - name: plan
    prompt: Write a plan.
loop:
  - name: build
    prompt_file: build.md
  - name: review
    prompt: "Review it."
    resume_from_previous: true
    requires: [build]
    on_incomplete: retry
post:
  - name: wrap
    loop_file: wrap.yaml
)";

constexpr const char* kTomlExample = R"(max_iterations = 4

[[pre]]
name = "plan"
prompt = "Write a plan."

[[loop]]
name = "build"
prompt_file = "build.md"

[[loop]]
name = "review"
prompt = "Review it."
resume_from_previous = true
requires = ["build"]
on_incomplete = "retry"

[[post]]
name = "wrap"
loop_file = "wrap.yaml"
)";

class LoopConfigFormats : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(LoopConfigFormats, SameModel) {
  const auto& [file, text] = GetParam();
  test::TempDir dir;
  test::write_file(dir / file, text);
  test::write_file(dir / "build.md", "Build the next step.\n");
  const LoopConfig config = parse_loop_file(dir / file);
  EXPECT_EQ(config.path, dir / file);
  EXPECT_EQ(config.max_iterations, 4);
  EXPECT_EQ(names(config.pre), std::vector<std::string>{"plan"});
  EXPECT_EQ(names(config.loop), (std::vector<std::string>{"build", "review"}));
  EXPECT_EQ(names(config.post), std::vector<std::string>{"wrap"});
  EXPECT_EQ(rendered(config.pre[0]), "Write a plan.");
  EXPECT_EQ(rendered(config.loop[0]), "Build the next step.\n");  // the file's content
  EXPECT_EQ(rendered(config.loop[1]), "Review it.");
  EXPECT_FALSE(config.loop[0].resume_from_previous);
  EXPECT_TRUE(config.loop[1].resume_from_previous);
  EXPECT_EQ(config.post[0].loop_file, dir / "wrap.yaml");
  EXPECT_TRUE(config.post[0].prompt.empty());
  EXPECT_EQ(config.post[0].nested, nullptr);  // parse_loop_file does not follow it
}

INSTANTIATE_TEST_SUITE_P(LoopConfig, LoopConfigFormats,
                         ::testing::Values(std::pair{std::string("c.json"), kJsonExample},
                                           std::pair{std::string("c.yaml"), kYamlExample},
                                           std::pair{std::string("c.YML"), kYamlExample},
                                           std::pair{std::string("c.toml"), kTomlExample},
                                           std::pair{std::string("c.loop"), kJsonExample}),
                         [](const auto& info) {
                           std::string name = info.param.first;
                           name[1] = '_';
                           return name;
                         });

// ---------------------------------------------------------------------------------------------
// Keys, defaults, scalars.
// ---------------------------------------------------------------------------------------------

LoopConfig parse_text(const std::string& file, const std::string& text) {
  test::TempDir dir;
  test::write_file(dir / file, text);
  return parse_loop_file(dir / file);
}

TEST(LoopConfigKeys, MatchCaseInsensitively) {
  const LoopConfig config = parse_text(
      "c.json",
      R"({"Max_Iterations": 3, "PRE": [{"Name": "a", "Prompt": "p", "RESUME_FROM_PREVIOUS": true}],
          "Loop": [{"NAME": "b", "prompt": "q"}], "POST": null})");
  EXPECT_EQ(config.max_iterations, 3);
  EXPECT_EQ(names(config.pre), std::vector<std::string>{"a"});
  EXPECT_TRUE(config.pre[0].resume_from_previous);
  EXPECT_EQ(names(config.loop), std::vector<std::string>{"b"});
  EXPECT_TRUE(config.post.empty());
}

TEST(LoopConfigKeys, YamlAndTomlKeysToo) {
  EXPECT_EQ(
      parse_text("c.yaml", "MAX_ITERATIONS: 2\nLoop:\n  - Name: a\n    PROMPT: p\n").max_iterations,
      2);
  EXPECT_EQ(parse_text("c.toml", "Max_Iterations = 2\n[[LOOP]]\nName = 'a'\nPrompt = 'p'\n")
                .max_iterations,
            2);
}

TEST(LoopConfigDefaults, MaxIterations) {
  EXPECT_EQ(parse_text("c.json", json_with("")).max_iterations, 10);
  EXPECT_EQ(parse_text("c.json", json_with(R"("max_iterations": 0)")).max_iterations, 10);
  EXPECT_EQ(parse_text("c.json", json_with(R"("max_iterations": null)")).max_iterations, 10);
  EXPECT_EQ(parse_text("c.json", json_with(R"("max_iterations": 1)")).max_iterations, 1);
  EXPECT_EQ(parse_text("c.json", json_with(R"("max_iterations": 7.0)")).max_iterations, 7);
  // Without loop phases the count is never used, so a negative one is not an error.
  EXPECT_NO_THROW(
      parse_text("c.json", R"({"max_iterations": -2, "pre": [{"name": "a", "prompt": "p"}]})"));
}

TEST(LoopConfigDefaults, IgnoredAndOptionalFields) {
  const LoopConfig config =
      parse_text("c.json", json_phase(R"({"name": "a", "prompt": "p", "requires": {"x": [1]},
                                          "on_incomplete": 3, "resume_from_previous": null,
                                          "prompt_file": "", "loop_file": null})"));
  ASSERT_EQ(config.loop.size(), 1u);
  EXPECT_FALSE(config.loop[0].resume_from_previous);
  EXPECT_TRUE(config.loop[0].loop_file.empty());
  EXPECT_EQ(rendered(config.loop[0]), "p");
}

// Plain YAML scalars are typed; quoted ones are strings.
struct YamlScalarCase {
  std::string label;
  std::string yaml;
  std::string error;  // empty: loads
};

void PrintTo(const YamlScalarCase& c, std::ostream* os) { *os << c.label; }

class LoopConfigYamlScalars : public ::testing::TestWithParam<YamlScalarCase> {};

TEST_P(LoopConfigYamlScalars, Typed) {
  const YamlScalarCase& c = GetParam();
  test::TempDir dir;
  test::write_file(dir / "c.yaml", c.yaml);
  const std::string error = load_error(dir / "c.yaml");
  EXPECT_EQ(error, c.error.empty() ? "(no error)" : c.error);
}

const std::vector<YamlScalarCase> kYamlScalarCases = {
    {"plain_int", "max_iterations: 3\nloop: [{name: a, prompt: p}]\n", ""},
    {"quoted_int", "max_iterations: \"3\"\nloop: [{name: a, prompt: p}]\n",
     "loop config: max_iterations must be an integer"},
    {"single_quoted_int", "max_iterations: '3'\nloop: [{name: a, prompt: p}]\n",
     "loop config: max_iterations must be an integer"},
    {"plain_bool", "loop: [{name: a, prompt: p, resume_from_previous: True}]\n", ""},
    {"quoted_bool", "loop: [{name: a, prompt: p, resume_from_previous: 'true'}]\n",
     "loop config: phase[name a]: resume_from_previous must be a boolean"},
    {"yes_is_a_string", "loop: [{name: a, prompt: p, resume_from_previous: yes}]\n",
     "loop config: phase[name a]: resume_from_previous must be a boolean"},
    {"plain_number_prompt", "loop: [{name: a, prompt: 42}]\n",
     "loop config: phase[name a]: prompt must be a string"},
    {"quoted_number_prompt", "loop: [{name: a, prompt: \"42\"}]\n", ""},
    {"str_tag_number_prompt", "loop: [{name: a, prompt: !!str 42}]\n", ""},
    {"plain_bool_name", "loop: [{name: true, prompt: p}]\n",
     "loop config: loop phase[index 0]: name must be a string"},
    {"quoted_bool_name", "loop: [{name: 'true', prompt: p}]\n", ""},
    {"plain_null_name", "loop: [{name: null, prompt: p}]\n",
     "loop config: loop phase[index 0]: name must not be empty"},
    {"quoted_null_name", "loop: [{name: \"null\", prompt: p}]\n", ""},
    {"tilde_max_iterations", "max_iterations: ~\nloop: [{name: a, prompt: p}]\n", ""},
    {"float_max_iterations", "max_iterations: 2.5\nloop: [{name: a, prompt: p}]\n",
     "loop config: max_iterations must be an integer"},
    {"hex_max_iterations", "max_iterations: 0x10\nloop: [{name: a, prompt: p}]\n", ""},
    {"block_prompt", "loop:\n  - name: a\n    prompt: |\n      line one\n      line two\n", ""},
    {"empty_quoted_prompt", "loop: [{name: a, prompt: ''}]\n",
     "loop config: phase[name a]: prompt must not be empty (set prompt, prompt_file, or "
     "loop_file)"},
};

INSTANTIATE_TEST_SUITE_P(LoopConfig, LoopConfigYamlScalars, ::testing::ValuesIn(kYamlScalarCases),
                         [](const auto& info) { return info.param.label; });

TEST(LoopConfigYaml, ScalarValues) {
  EXPECT_EQ(
      parse_text("c.yaml", "max_iterations: 0x10\nloop: [{name: a, prompt: p}]\n").max_iterations,
      16);
  const LoopConfig config =
      parse_text("c.yaml", "loop:\n  - name: 'true'\n    prompt: |\n      one\n      two\n");
  EXPECT_EQ(config.loop[0].name, "true");
  EXPECT_EQ(rendered(config.loop[0]), "one\ntwo\n");
}

TEST(LoopConfigToml, ArrayOfTablesAndInlineArrays) {
  const LoopConfig config = parse_text("c.toml",
                                       "pre = [{name = 'inline', prompt = 'i'}]\n"
                                       "[[loop]]\nname = 'one'\nprompt = '''\nfirst\n'''\n"
                                       "[[loop]]\nname = 'two'\nprompt = \"second\"\n");
  EXPECT_EQ(names(config.pre), std::vector<std::string>{"inline"});
  EXPECT_EQ(names(config.loop), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(rendered(config.loop[0]), "first\n");
}

TEST(LoopConfigToml, DatesBecomeStrings) {
  const LoopConfig config = parse_text("c.toml", "[[loop]]\nname = 'a'\nprompt = 1979-05-27\n");
  EXPECT_EQ(rendered(config.loop[0]), "1979-05-27");
}

TEST(LoopConfigToml, WrongTypesAreTypeErrors) {
  test::TempDir dir;
  test::write_file(dir / "c.toml", "max_iterations = '3'\n[[loop]]\nname = 'a'\nprompt = 'p'\n");
  EXPECT_EQ(load_error(dir / "c.toml"), "loop config: max_iterations must be an integer");
}

// ---------------------------------------------------------------------------------------------
// Prompt files and the implicit first phase.
// ---------------------------------------------------------------------------------------------

TEST(LoopConfigPromptFile, RelativeToTheConfigNotTheWorkingDirectory) {
  test::TempDir dir;
  fs::create_directories(dir / "cfg" / "prompts");
  test::write_file(dir / "cfg" / "prompts" / "p.md", "from the file");
  test::write_file(dir / "cfg" / "c.yaml", "loop:\n  - name: a\n    prompt_file: prompts/p.md\n");
  const LoopConfig config = parse_loop_file(dir / "cfg" / "c.yaml");
  EXPECT_EQ(rendered(config.loop[0]), "from the file");
}

TEST(LoopConfigPromptFile, AbsolutePathIsUsedAsIs) {
  test::TempDir dir;
  test::write_file(dir / "p.md", "absolute");
  fs::create_directories(dir / "cfg");
  test::write_file(dir / "cfg" / "c.json", json_phase(R"({"name": "a", "prompt_file": ")" +
                                                      (dir / "p.md").string() + R"("})"));
  EXPECT_EQ(rendered(parse_loop_file(dir / "cfg" / "c.json").loop[0]), "absolute");
}

TEST(LoopConfigInitialPhase, InsertedFirstInPre) {
  LoopConfig config = parse_text("c.json", R"({"pre": [{"name": "a", "prompt": "p"}]})");
  insert_initial_phase(config, "start here");
  EXPECT_EQ(names(config.pre), (std::vector<std::string>{"(initial)", "a"}));
  EXPECT_EQ(rendered(config.pre[0]), "start here");
  EXPECT_FALSE(config.pre[0].resume_from_previous);
}

TEST(LoopConfigInitialPhase, PromptIsATemplate) {
  LoopConfig config = parse_text("c.json", json_with(""));
  try {
    insert_initial_phase(config, "{{.Nope}}");
    FAIL() << "no error";
  } catch (const LoopConfigError& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with(
        "loop config: phase[name (initial)]: prompt: template: line 1: "))
        << e.what();
  }
  EXPECT_TRUE(config.pre.empty());
}

// ---------------------------------------------------------------------------------------------
// Nested loop files.
// ---------------------------------------------------------------------------------------------

TEST(LoopConfigNested, LoadedRelativeToTheirParent) {
  test::TempDir dir;
  fs::create_directories(dir / "sub" / "deeper");
  test::write_file(dir / "top.json", json_phase(R"({"name": "n", "loop_file": "sub/mid.yaml"})"));
  test::write_file(dir / "sub" / "mid.yaml",
                   "pre:\n  - name: m\n    prompt_file: m.md\n"
                   "loop:\n  - name: d\n    loop_file: deeper/leaf.toml\n");
  test::write_file(dir / "sub" / "m.md", "mid prompt");
  test::write_file(dir / "sub" / "deeper" / "leaf.toml", "[[loop]]\nname = 'l'\nprompt = 'x'\n");
  const auto top = load_loop_config(dir / "top.json");
  ASSERT_NE(top->loop[0].nested, nullptr);
  const LoopConfig& mid = *top->loop[0].nested;
  EXPECT_EQ(mid.path, dir / "sub" / "mid.yaml");
  EXPECT_EQ(rendered(mid.pre[0]), "mid prompt");
  ASSERT_NE(mid.loop[0].nested, nullptr);
  EXPECT_EQ(mid.loop[0].nested->path, dir / "sub" / "deeper" / "leaf.toml");
  EXPECT_EQ(names(mid.loop[0].nested->loop), std::vector<std::string>{"l"});
}

TEST(LoopConfigNested, FileNestedTwiceIsLoadedOnceAndIsNoCycle) {
  test::TempDir dir;
  test::write_file(dir / "top.json", R"({"pre": [{"name": "a", "loop_file": "n.json"}],
                                         "loop": [{"name": "b", "loop_file": "./n.json"}]})");
  test::write_file(dir / "n.json", json_phase(kOkPhase));
  const auto top = load_loop_config(dir / "top.json");
  ASSERT_NE(top->pre[0].nested, nullptr);
  EXPECT_EQ(top->pre[0].nested, top->loop[0].nested);
}

TEST(LoopConfigNested, CycleThroughThreeFiles) {
  test::TempDir dir;
  test::write_file(dir / "a.json", json_phase(R"({"name": "x", "loop_file": "b.yaml"})"));
  test::write_file(dir / "b.yaml", "loop:\n  - {name: y, loop_file: c.toml}\n");
  test::write_file(dir / "c.toml", "[[pre]]\nname = 'z'\nloop_file = 'b.yaml'\n");
  const std::string d = dir.path().string();
  EXPECT_EQ(load_error(dir / "a.json"),
            "loop config: phase[name x]: loop_file " + d + "/b.yaml: phase[name y]: loop_file " +
                d + "/c.toml: phase[name z]: loop_file " + d +
                "/b.yaml: nested loop_file cycle: b.yaml -> c.toml -> b.yaml");
}

// check_loop_files: what `avenor verify` prints, file by file.
TEST(LoopConfigCheckFiles, EveryFileOnceInOrder) {
  test::TempDir dir;
  test::write_file(dir / "top.json",
                   R"({"pre": [{"name": "a", "loop_file": "one.yaml"}],
                       "loop": [{"name": "b", "loop_file": "two.toml"},
                                {"name": "c", "loop_file": "one.yaml"}]})");
  test::write_file(dir / "one.yaml", "loop: [{name: x, loop_file: three.json}]\n");
  test::write_file(dir / "two.toml", "[[loop]]\nname = 'y'\nprompt = 'p'\n");
  test::write_file(dir / "three.json", json_phase(kOkPhase));
  const auto checks = check_loop_files(dir / "top.json");
  std::vector<fs::path> paths;
  for (const auto& check : checks) {
    paths.push_back(check.path);
    EXPECT_TRUE(check.ok()) << check.path << ": " << check.errors.front();
  }
  EXPECT_EQ(paths, (std::vector<fs::path>{dir / "top.json", dir / "one.yaml", dir / "three.json",
                                          dir / "two.toml"}));
}

TEST(LoopConfigCheckFiles, ErrorsStayWithTheirFile) {
  test::TempDir dir;
  test::write_file(dir / "top.json", R"({"pre": [{"name": "a", "loop_file": "bad.yaml"},
                                                  {"name": "b", "loop_file": "gone.json"},
                                                  {"name": "c", "loop_file": "top.json"}]})");
  test::write_file(dir / "bad.yaml", "loop: [{name: x}]\n");
  const auto checks = check_loop_files(dir / "top.json");
  const std::string d = dir.path().string();
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[0].path, dir / "top.json");
  EXPECT_EQ(checks[0].errors,
            std::vector<std::string>{"loop config: phase[name c]: loop_file " + d +
                                     "/top.json: nested loop_file cycle: top.json -> top.json"});
  EXPECT_EQ(checks[1].path, dir / "bad.yaml");
  EXPECT_EQ(checks[1].errors,
            std::vector<std::string>{"loop config: phase[name x]: prompt must not be empty (set "
                                     "prompt, prompt_file, or loop_file)"});
  EXPECT_EQ(checks[2].path, dir / "gone.json");
  EXPECT_EQ(checks[2].errors, std::vector<std::string>{"loop config: read " + d +
                                                       "/gone.json: No such file or directory"});
}

}  // namespace
}  // namespace avenor::host
