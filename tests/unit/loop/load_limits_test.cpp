// Hostile loop files (issue 15): every limit of loop/load_limits.hpp fails
// with its message instead of a crash, and a file just within it still loads.
#include "loop/load_limits.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "../host/test_support.hpp"
#include "loop/loop_config.hpp"
#include "loop/loop_file_tree.hpp"
#include "loop/prompt_template.hpp"
#include "loop/structured_text.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;

std::string repeat(std::string_view piece, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += piece;
  return out;
}

std::string text_error(std::string_view text, TextFormat format) {
  try {
    parse_structured_text(text, format);
  } catch (const StructuredTextError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string load_error(const fs::path& file) {
  try {
    load_loop_config(file);
  } catch (const LoopConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// `n` nested arrays: depth n counting the outermost.
std::string brackets(int n) { return repeat("[", n) + repeat("]", n); }

const std::string kTooDeep = "nesting deeper than 64 levels";

TEST(LoopLimits, LoadBudgetCountsUpToItsLimits) {
  LoadBudget budget;
  EXPECT_EQ(budget.charge_values(kMaxLoadValues), "");
  EXPECT_EQ(budget.charge_values(1), "more than 1000000 values (YAML aliases expanded)");
  EXPECT_EQ(budget.charge_text(kMaxLoadTextBytes - 1), "");
  EXPECT_EQ(budget.charge_text(1), "");
  EXPECT_EQ(budget.charge_text(1),
            "more than 67108864 bytes of text in the loop files and prompt files (YAML aliases "
            "expanded)");
}

// ---------------------------------------------------------------------------------------------
// Depth: 64 containers load, 65 fail, in each format; far deeper fails the same way, fast.
// ---------------------------------------------------------------------------------------------

TEST(LoopLimits, JsonDepth) {
  EXPECT_TRUE(parse_structured_text(brackets(64), TextFormat::json).is_array());
  EXPECT_EQ(text_error(brackets(65), TextFormat::json), "line 1, column 65: " + kTooDeep);
  EXPECT_EQ(text_error(brackets(100'000), TextFormat::json), "line 1, column 65: " + kTooDeep);
}

TEST(LoopLimits, YamlDepth) {
  EXPECT_TRUE(parse_structured_text("a: " + brackets(63), TextFormat::yaml).is_object());
  EXPECT_EQ(text_error("a: " + brackets(64), TextFormat::yaml), "line 1, column 67: " + kTooDeep);
  // Deeper than yaml-cpp's own guard (it stops before its stack runs out).
  EXPECT_EQ(text_error(brackets(100'000), TextFormat::yaml).ends_with(kTooDeep), true);
  EXPECT_EQ(text_error(repeat("- ", 100'000) + "x\n", TextFormat::yaml).ends_with(kTooDeep), true);
  // Block nesting by indentation (1000 levels stay under the YAML size cap).
  std::string indented;
  for (int i = 0; i < 1000; ++i) indented += std::string(i, ' ') + "a:\n";
  EXPECT_EQ(text_error(indented, TextFormat::yaml).ends_with(kTooDeep), true);
}

std::string dotted(int keys) {
  std::string out = "k";
  for (int i = 1; i < keys; ++i) out += ".k";
  return out;
}

TEST(LoopLimits, TomlHeadersAndDottedKeys) {
  // [k.k...] with 63 keys: the root and 63 tables.
  EXPECT_TRUE(parse_structured_text("[" + dotted(63) + "]\n", TextFormat::toml).is_object());
  EXPECT_EQ(text_error("[" + dotted(64) + "]\n", TextFormat::toml),
            "line 1, column 127: " + kTooDeep);
  EXPECT_EQ(text_error("[[" + dotted(100'000) + "]]\n", TextFormat::toml).ends_with(kTooDeep),
            true);
  EXPECT_EQ(text_error("[" + dotted(100'000) + "]\n", TextFormat::toml).ends_with(kTooDeep), true);
  // A dotted key k.k... = 1 makes one table fewer than it has keys.
  EXPECT_TRUE(parse_structured_text(dotted(64) + " = 1\n", TextFormat::toml).is_object());
  EXPECT_EQ(text_error(dotted(100'000) + " = 1\n", TextFormat::toml).ends_with(kTooDeep), true);
  // Under a header the two add up.
  EXPECT_TRUE(
      parse_structured_text("[" + dotted(32) + "]\n" + dotted(32) + " = 1\n", TextFormat::toml)
          .is_object());
  EXPECT_EQ(text_error("[" + dotted(32) + "]\n" + dotted(34) + " = 1\n", TextFormat::toml)
                .ends_with(kTooDeep),
            true);
}

TEST(LoopLimits, TomlInlineValues) {
  EXPECT_TRUE(parse_structured_text("a = " + brackets(63) + "\n", TextFormat::toml).is_object());
  EXPECT_EQ(text_error("a = " + brackets(64) + "\n", TextFormat::toml),
            "line 1, column 68: " + kTooDeep);
  EXPECT_EQ(text_error("a = " + brackets(100'000) + "\n", TextFormat::toml),
            "line 1, column 68: " + kTooDeep);
  EXPECT_EQ(text_error("a = " + repeat("{b = ", 100'000) + "1" + repeat("}", 100'000) + "\n",
                       TextFormat::toml)
                .ends_with(kTooDeep),
            true);
  EXPECT_EQ(text_error("a = {" + dotted(100'000) + " = 1}\n", TextFormat::toml).ends_with(kTooDeep),
            true);
}

TEST(LoopLimits, TomlScanIgnoresDotsInStringsCommentsAndNumbers) {
  const std::string many_dots = repeat(".", 500);
  const std::string text = "a = \"" + many_dots + "\"\nb = '" + many_dots + "'\nc = \"\"\"\n" +
                           many_dots + "\n\"\"\"\nd = '''" + many_dots + "'''\n# " + many_dots +
                           "\n\"" + many_dots + "\" = 1\ne = [" + repeat("1.5, ", 500) +
                           "2.5]\nf = 1979-05-27T07:32:00.999Z\n";
  const bj::value v = parse_structured_text(text, TextFormat::toml);
  EXPECT_EQ(v.at("a"), bj::value(bj::string(many_dots)));
  EXPECT_EQ(v.at("e").as_array().size(), 501u);
}

// ---------------------------------------------------------------------------------------------
// YAML aliases: cycles and expansion.
// ---------------------------------------------------------------------------------------------

TEST(LoopLimits, YamlAliasInsideItsOwnNode) {
  EXPECT_EQ(text_error("a: &x [*x]\n", TextFormat::yaml),
            "line 1, column 4: an alias refers to a node that contains it");
  EXPECT_EQ(text_error("pre: &x\n  - *x\n", TextFormat::yaml),
            "line 1, column 6: an alias refers to a node that contains it");
  EXPECT_EQ(text_error("&x {a: [{b: *x}]}\n", TextFormat::yaml),
            "line 1, column 1: an alias refers to a node that contains it");
  // An alias to a sibling is no cycle.
  EXPECT_EQ(parse_structured_text("a: &x [1]\nb: [*x, *x]\n", TextFormat::yaml),
            bj::parse(R"({"a": [1], "b": [[1], [1]]})"));
}

// Nine levels of nine aliases each: 9^9 scalars, a few hundred bytes of text.
std::string billion_laughs(const std::string& leaf) {
  std::string text = "l0: &l0 [" + repeat(leaf + ",", 8) + leaf + "]\n";
  for (int i = 1; i < 10; ++i) {
    const std::string alias = "*l" + std::to_string(i - 1);
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + repeat(alias + ",", 8) +
            alias + "]\n";
  }
  return text;
}

TEST(LoopLimits, YamlAliasExpansionIsBudgeted) {
  EXPECT_EQ(text_error(billion_laughs("lol"), TextFormat::yaml),
            "line 1, column 10: more than 1000000 values (YAML aliases expanded)");
  EXPECT_EQ(text_error(billion_laughs("1.5"), TextFormat::yaml),
            "line 1, column 10: more than 1000000 values (YAML aliases expanded)");
  // Few values, much text: a long string repeated.
  const std::string big(900'000, 'x');
  EXPECT_EQ(text_error("a: &s " + big + "\nb: [" + repeat("*s, ", 80) + "*s]\n", TextFormat::yaml)
                .ends_with("more than 67108864 bytes of text in the loop files and prompt files "
                           "(YAML aliases expanded)"),
            true);
}

TEST(LoopLimits, YamlNodesAsWrittenAndSize) {
  EXPECT_EQ(text_error("[" + repeat("1,", 150'000) + "1]", TextFormat::yaml),
            "line 1, column 200000: more than 100000 YAML nodes");
  EXPECT_EQ(text_error(std::string(kMaxYamlInputBytes + 1, ' '), TextFormat::yaml),
            "larger than 1048576 bytes");
  EXPECT_EQ(text_error(std::string(kMaxLoopInputBytes + 1, ' '), TextFormat::json),
            "larger than 4194304 bytes");
}

// ---------------------------------------------------------------------------------------------
// Files: regular files only, bounded; the same for the loop file and its prompt files.
// ---------------------------------------------------------------------------------------------

TEST(LoopLimits, PromptFileMustBeARegularFile) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  test::write_file(dir / "zero.json", R"({"pre": [{"name": "z", "prompt_file": "/dev/zero"}]})");
  test::write_file(dir / "fifo.json", R"({"pre": [{"name": "f", "prompt_file": "fifo"}]})");
  EXPECT_EQ(load_error(dir / "zero.json"),
            "loop config: phase[name z]: prompt_file /dev/zero: not a regular file");
  EXPECT_EQ(load_error(dir / "fifo.json"), "loop config: phase[name f]: prompt_file " +
                                               (dir / "fifo").string() + ": not a regular file");
}

TEST(LoopLimits, LoopFileMustBeARegularFile) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "loop.yaml").c_str(), 0600), 0);
  EXPECT_EQ(load_error(dir / "loop.yaml"),
            "loop config: read " + (dir / "loop.yaml").string() + ": not a regular file");
  EXPECT_EQ(load_error("/dev/zero"), "loop config: read /dev/zero: not a regular file");
  test::write_file(dir / "top.json", R"({"pre": [{"name": "n", "loop_file": "loop.yaml"}]})");
  EXPECT_EQ(load_error(dir / "top.json"),
            "loop config: phase[name n]: loop_file " + (dir / "loop.yaml").string() + ": read " +
                (dir / "loop.yaml").string() + ": not a regular file");
}

TEST(LoopLimits, FilesAreBounded) {
  test::TempDir dir;
  test::write_file(dir / "big.md", std::string(kMaxLoopInputBytes + 1, 'x'));
  test::write_file(dir / "p.json", R"({"pre": [{"name": "b", "prompt_file": "big.md"}]})");
  EXPECT_EQ(load_error(dir / "p.json"), "loop config: phase[name b]: prompt_file " +
                                            (dir / "big.md").string() +
                                            ": larger than 4194304 bytes");
  test::write_file(dir / "big.yaml", "# " + std::string(kMaxYamlInputBytes, 'x') + "\n");
  EXPECT_EQ(load_error(dir / "big.yaml"),
            "loop config: read " + (dir / "big.yaml").string() + ": larger than 1048576 bytes");
}

TEST(LoopLimits, PromptFilesShareOneBudget) {
  test::TempDir dir;
  test::write_file(dir / "p.md", std::string(kMaxLoopInputBytes, 'x'));
  std::string phases;
  for (int i = 0; i < 17; ++i)  // 17 × 4 MiB > 64 MiB
    phases += std::string(i ? "," : "") + R"({"name": "p)" + std::to_string(i) +
              R"(", "prompt_file": "p.md"})";
  test::write_file(dir / "loop.json", "{\"pre\": [" + phases + "]}");
  EXPECT_EQ(load_error(dir / "loop.json"),
            "loop config: phase[name p15]: prompt_file " + (dir / "p.md").string() +
                ": more than 67108864 bytes of text in the loop files and prompt files (YAML "
                "aliases expanded)");
}

// ---------------------------------------------------------------------------------------------
// Nested loop files: depth, and cycles reported on every file on them.
// ---------------------------------------------------------------------------------------------

void write_chain(const test::TempDir& dir, int files) {
  for (int i = 0; i < files; ++i) {
    const std::string next =
        i + 1 < files ? R"({"name": "n", "loop_file": "f)" + std::to_string(i + 1) + R"(.json"})"
                      : R"({"name": "n", "prompt": "p"})";
    test::write_file(dir / ("f" + std::to_string(i) + ".json"), R"({"pre": [)" + next + "]}");
  }
}

TEST(LoopLimits, NestedLoopFilesAreBoundedInDepth) {
  test::TempDir dir;
  write_chain(dir, kMaxLoopFileNesting);
  EXPECT_EQ(load_error(dir / "f0.json"), "(no error)");
  EXPECT_EQ(check_loop_files(dir / "f0.json").size(),
            static_cast<std::size_t>(kMaxLoopFileNesting));
}

TEST(LoopLimits, NestedLoopFilesTooDeep) {
  test::TempDir dir;
  write_chain(dir, 1000);
  const std::string error = load_error(dir / "f0.json");
  EXPECT_TRUE(error.ends_with(": loop_file nesting deeper than 32 files")) << error;
  const auto checks = check_loop_files(dir / "f0.json");
  ASSERT_EQ(checks.size(), static_cast<std::size_t>(kMaxLoopFileNesting));
  EXPECT_EQ(checks.back().errors,
            std::vector<std::string>{"loop config: phase[name n]: loop_file " +
                                     (dir / "f32.json").string() +
                                     ": loop_file nesting deeper than 32 files"});
}

std::string errors_of(const std::vector<LoopFileCheck>& checks, const std::string& name) {
  std::string out;
  for (const auto& check : checks)
    if (check.path.filename() == name)
      for (const auto& error : check.errors) out += error + "\n";
  return out;
}

TEST(LoopLimits, EveryFileOnACycleHasTheError) {
  test::TempDir dir;
  const std::string d = dir.path().string();
  test::write_file(dir / "top.json", R"({"pre": [{"name": "t", "loop_file": "a.json"}]})");
  test::write_file(dir / "a.json", R"({"pre": [{"name": "x", "loop_file": "b.yaml"},
                                              {"name": "y", "loop_file": "c.toml"}]})");
  test::write_file(dir / "b.yaml", "pre: [{name: z, loop_file: a.json}]\n");
  // c reaches the cycle only through b, which the depth-first walk has
  // already seen when it gets to c.
  test::write_file(dir / "c.toml", "[[pre]]\nname = 'w'\nloop_file = 'b.yaml'\n");
  const auto checks = check_loop_files(dir / "top.json");
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_TRUE(checks[0].ok());  // top is not on the cycle: its nested files carry the errors
  EXPECT_EQ(errors_of(checks, "a.json"),
            "loop config: phase[name x]: loop_file " + d +
                "/b.yaml: nested loop_file cycle: a.json -> b.yaml -> a.json\n"
                "loop config: phase[name y]: loop_file " +
                d + "/c.toml: nested loop_file cycle: a.json -> c.toml -> b.yaml -> a.json\n");
  EXPECT_EQ(errors_of(checks, "b.yaml"),
            "loop config: phase[name z]: loop_file " + d +
                "/a.json: nested loop_file cycle: b.yaml -> a.json -> b.yaml\n");
  EXPECT_EQ(errors_of(checks, "c.toml"),
            "loop config: phase[name w]: loop_file " + d +
                "/b.yaml: nested loop_file cycle: c.toml -> b.yaml -> a.json -> c.toml\n");
}

// ---------------------------------------------------------------------------------------------
// Templates.
// ---------------------------------------------------------------------------------------------

std::string nested_ifs(int n) { return repeat("{{if .RunID}}", n) + "x" + repeat("{{end}}", n); }

TEST(LoopLimits, TemplateNesting) {
  TemplateValues values;
  values.run_id = "r";
  EXPECT_EQ(PromptTemplate::parse(nested_ifs(kMaxTemplateNesting)).render(values), "x");
  try {
    PromptTemplate::parse(nested_ifs(200'000));
    FAIL() << "no error";
  } catch (const TemplateError& e) {
    EXPECT_STREQ(e.what(), "template: line 1: {{if}} nesting deeper than 256 levels");
  }
}

}  // namespace
}  // namespace avenor::host
