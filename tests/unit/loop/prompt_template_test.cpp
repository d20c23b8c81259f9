#include "loop/prompt_template.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace avenor::host {
namespace {

// Every field set to something distinct, so a swapped field shows up.
TemplateValues full() {
  TemplateValues v;
  v.run_id = "run-42";
  v.phase = "implement";
  v.iteration = 3;
  v.max_iterations = 10;
  v.work_dir = "/src/app";
  v.prev_phase_commit = "abc123";
  v.diff_stat = " a.cc | 2 +-\n 1 file changed";
  v.changed_files = "a.cc\nb.cc";
  return v;
}

// Pre/post phase outside git: every string empty, iteration 0.
TemplateValues blank() {
  TemplateValues v;
  v.run_id = "run-42";
  v.max_iterations = 10;
  return v;
}

template <typename F>
TemplateValues with(F change) {
  TemplateValues v = full();
  change(v);
  return v;
}

std::string render(std::string_view text, const TemplateValues& values) {
  return PromptTemplate::parse(text).render(values);
}

// Parses a template that must be rejected and returns what(); a template that
// parses yields a marker that no expectation matches.
std::string parse_error(std::string_view text) {
  try {
    PromptTemplate::parse(text);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "<parsed without error>";
}

struct RenderCase {
  const char* name;
  std::string text;
  TemplateValues values;
  std::string expected;
};

class PromptTemplateRender : public ::testing::TestWithParam<RenderCase> {};

TEST_P(PromptTemplateRender, Renders) {
  const RenderCase& c = GetParam();
  std::string out;
  ASSERT_NO_THROW(out = render(c.text, c.values)) << c.text;
  EXPECT_EQ(out, c.expected) << c.text;
}

const RenderCase kRenderCases[] = {
    // Text and fields.
    {"Empty", "", full(), ""},
    {"PlainText", "hello\nworld\n", full(), "hello\nworld\n"},
    {"LoneBraces", "a }} b { c } {.RunID} }", full(), "a }} b { c } {.RunID} }"},
    {"TrailingBrace", "{{.RunID}}}", full(), "run-42}"},
    {"RunID", "id={{.RunID}}.", full(), "id=run-42."},
    {"StringFields", "{{.Phase}}|{{.WorkDir}}|{{.PrevPhaseCommit}}|{{.DiffStat}}|{{.ChangedFiles}}",
     full(), "implement|/src/app|abc123| a.cc | 2 +-\n 1 file changed|a.cc\nb.cc"},
    {"Ints", "{{.Iteration}}/{{.MaxIterations}}", full(), "3/10"},
    {"IntZero", "[{{.Iteration}}]", blank(), "[0]"},
    {"IntNegativeAndLarge", "{{.Iteration}} {{.MaxIterations}}", with([](auto& v) {
       v.iteration = -7;
       v.max_iterations = 2147483647;
     }),
     "-7 2147483647"},
    {"TeamFieldsAlwaysEmpty", "[{{.TeamOutput}}][{{.TeamFinalOutput}}]", full(), "[][]"},
    {"SameFieldTwice", "{{.Phase}}{{.Phase}}", full(), "implementimplement"},
    {"SpacesInAction", "{{ .RunID }}|{{\t.Phase\n}}|{{  .Iteration\t}}", full(),
     "run-42|implement|3"},
    {"ActionSpansLines", "a{{\n.RunID\n}}b", full(), "arun-42b"},
    {"ValuesVerbatim", "<{{.RunID}}>", with([](auto& v) { v.run_id = "<a href=\"x\">&amp;</a>"; }),
     "<<a href=\"x\">&amp;</a>>"},
    {"ValueNotReparsed", "{{.RunID}}", with([](auto& v) { v.run_id = "{{.Phase}}"; }),
     "{{.Phase}}"},
    {"Utf8", "héllo {{.Phase}} — 日本語 ✓", with([](auto& v) { v.phase = "フェーズ"; }),
     "héllo フェーズ — 日本語 ✓"},

    // if / else / end.
    {"IfStringTrue", "{{if .DiffStat}}changed{{end}}", full(), "changed"},
    {"IfStringFalse", "a{{if .DiffStat}}changed{{end}}b", blank(), "ab"},
    {"IfElseTrue", "{{if .PrevPhaseCommit}}git{{else}}no git{{end}}", full(), "git"},
    {"IfElseFalse", "{{if .PrevPhaseCommit}}git{{else}}no git{{end}}", blank(), "no git"},
    {"IfIntNonZero", "{{if .Iteration}}loop {{.Iteration}}{{else}}pre/post{{end}}", full(),
     "loop 3"},
    {"IfIntZero", "{{if .Iteration}}loop{{else}}pre/post{{end}}", blank(), "pre/post"},
    {"IfIntNegative", "{{if .Iteration}}yes{{end}}", with([](auto& v) { v.iteration = -1; }),
     "yes"},
    {"IfTeamOutputFalse", "{{if .TeamOutput}}team{{else}}solo{{end}}", full(), "solo"},
    {"IfSpaces", "{{if  .DiffStat }}x{{ else }}y{{ end }}", full(), "x"},
    {"IfEmptyBranches", "a{{if .DiffStat}}{{else}}{{end}}b", full(), "ab"},
    {"NestedIfs", "{{if .RunID}}A{{if .DiffStat}}B{{else}}C{{end}}D{{else}}E{{end}}", blank(),
     "ACD"},
    {"NestedInElse", "{{if .DiffStat}}A{{else}}B{{if .Iteration}}C{{else}}D{{end}}E{{end}}",
     blank(), "BDE"},
    {"NestedAllTrue", "{{if .RunID}}{{if .Phase}}{{if .Iteration}}deep{{end}}{{end}}{{end}}",
     full(), "deep"},

    // Trim markers and comments.
    {"TrimLeft", "a  \n\t{{- .RunID}}", full(), "arun-42"},
    {"TrimRight", "{{.RunID -}}  \n b", full(), "run-42b"},
    {"TrimBoth", "a \n {{- .RunID -}} \n b", full(), "arun-42b"},
    {"TrimCrLf", "a\r\n{{- .RunID -}}\r\nb", full(), "arun-42b"},
    {"TrimWithTabs", "x\t{{-\t.RunID\t-}}\ty", full(), "xrun-42y"},
    {"TrimWithNewlines", "x\n{{-\n.RunID\n-}}\ny", full(), "xrun-42y"},
    {"TrimOnlyAdjacentText", "a {{.RunID}} b {{- .Phase}} c", full(), "a run-42 bimplement c"},
    {"TrimBlock", "Files:\n{{- if .ChangedFiles}}\n{{.ChangedFiles}}\n{{- end}}\nDone", full(),
     "Files:\na.cc\nb.cc\nDone"},
    {"TrimBlockFalse", "Files:\n{{- if .ChangedFiles}}\n{{.ChangedFiles}}\n{{- end}}\nDone",
     blank(), "Files:\nDone"},
    {"TrimElse", "{{if .DiffStat -}}\n  yes\n{{- else -}}\n  no\n{{- end}}", blank(), "no"},
    {"TrimWholeTextBetween", "{{.RunID -}} \n\t {{- .Phase}}", full(), "run-42implement"},
    {"Comment", "a{{/* note */}}b", full(), "ab"},
    {"CommentKeepsNeighbours", "a\n{{/* note */}}\nb", full(), "a\n\nb"},
    {"CommentMultiLine", "a{{/* x\n{{.Nope}} }} y\n*/}}b", full(), "ab"},
    {"CommentTrimmed", "a \n{{- /* c */ -}}\n b", full(), "ab"},
    {"CommentNotAdjacentToTrim", "a {{/* c */}} {{- .RunID}}", full(), "a run-42"},
};

INSTANTIATE_TEST_SUITE_P(PromptTemplate, PromptTemplateRender, ::testing::ValuesIn(kRenderCases),
                         [](const auto& info) { return std::string(info.param.name); });

struct ErrorCase {
  const char* name;
  std::string text;
  std::string expected;  // the whole what()
};

class PromptTemplateError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(PromptTemplateError, Rejects) {
  const ErrorCase& c = GetParam();
  EXPECT_EQ(parse_error(c.text), c.expected) << c.text;
}

// The hint every "not supported" error ends with.
const std::string kOnly = "; only {{.Field}} and {{if .Field}}...{{else}}...{{end}} are supported";

const ErrorCase kErrorCases[] = {
    // Fields.
    {"UnknownField", "{{.Foo}}", "template: line 1: unknown field .Foo"},
    {"FieldCaseSensitive", "{{.runID}}",
     "template: line 1: unknown field .runID (did you mean .RunID?)"},
    {"UnknownFieldInIf", "{{if .Nope}}x{{end}}", "template: line 1: unknown field .Nope"},
    {"UnknownFieldInUntakenBranch", "{{if .RunID}}{{else}}{{.Typo}}{{end}}",
     "template: line 1: unknown field .Typo"},
    {"Dot", "{{.}}",
     "template: line 1: {{.}} is not supported; refer to a field such as {{.RunID}}"},
    {"DotInIf", "{{if .}}x{{end}}",
     "template: line 1: {{.}} is not supported; refer to a field such as {{.RunID}}"},
    {"FieldChain", "{{.RunID.Len}}",
     "template: line 1: field chains like .RunID.Len are not supported" + kOnly},
    {"FieldArgument", "{{.RunID .Phase}}",
     "template: line 1: unexpected \".Phase\" after .RunID; a field takes no arguments"},

    // Delimiters and comments.
    {"UnclosedAction", "abc {{.RunID", "template: line 1: unclosed action"},
    {"UnclosedActionSingleBrace", "{{.RunID} and {{.Phase}}", "template: line 1: unclosed action"},
    {"UnclosedActionAtEnd", "text {{", "template: line 1: unclosed action"},
    {"EmptyAction", "{{}}",
     "template: line 1: empty action {{}}; write a field such as {{.RunID}}"},
    {"BlankAction", "{{ \n }}",
     "template: line 1: empty action {{}}; write a field such as {{.RunID}}"},
    {"TrimmedEmptyAction", "{{-  -}}",
     "template: line 1: empty action {{}}; write a field such as {{.RunID}}"},
    {"LeftTrimWithoutSpace", "{{-.RunID}}",
     "template: line 1: \"{{-\" needs a space after the dash to trim whitespace"},
    {"RightTrimWithoutSpace", "{{.RunID-}}",
     "template: line 1: \"-}}\" needs a space before the dash to trim whitespace"},
    {"UnclosedComment", "a {{/* note", "template: line 1: unclosed comment"},
    {"CommentBeforeDelimiter", "{{/* note */ }}",
     "template: line 1: comment ends before closing delimiter; write {{/* ... */}}"},
    {"CommentNotAtDelimiter", "{{ /* note */}}",
     "template: line 1: a comment must start right after {{: {{/* ... */}}"},

    // Structure.
    {"EndWithoutIf", "a{{end}}", "template: line 1: {{end}} without a matching {{if}}"},
    {"ElseWithoutIf", "a{{else}}b", "template: line 1: {{else}} without a matching {{if}}"},
    {"ExtraEnd", "{{if .RunID}}{{end}}{{end}}",
     "template: line 1: {{end}} without a matching {{if}}"},
    {"MissingEnd", "{{if .RunID}}x",
     "template: line 1: unexpected EOF: missing {{end}} for {{if .RunID}} on line 1"},
    {"MissingInnerEnd", "{{if .RunID}}{{if .Phase}}x{{end}}",
     "template: line 1: unexpected EOF: missing {{end}} for {{if .RunID}} on line 1"},
    {"DuplicateElse", "{{if .RunID}}a{{else}}b{{else}}c{{end}}",
     "template: line 1: duplicate {{else}} in {{if .RunID}} on line 1"},
    {"IfWithoutField", "{{if}}x{{end}}",
     "template: line 1: {{if}} needs a field, e.g. {{if .DiffStat}}"},
    {"IfTwoFields", "{{if .RunID .Phase}}x{{end}}",
     "template: line 1: unexpected \".Phase\" after .RunID; a field takes no arguments"},
    {"ElseWithArgument", "{{if .RunID}}{{else .Phase}}{{end}}",
     "template: line 1: unexpected \".Phase\" in {{else}}"},
    {"EndWithArgument", "{{if .RunID}}{{end .RunID}}",
     "template: line 1: unexpected \".RunID\" in {{end}}"},

    // Outside the subset.
    {"ElseIf", "{{if .RunID}}{{else if .Phase}}{{end}}",
     "template: line 1: {{else if}} is not supported; nest an {{if}} inside {{else}}"},
    {"Range", "{{range .ChangedFiles}}x{{end}}",
     "template: line 1: {{range}} is not supported" + kOnly},
    {"With", "{{with .DiffStat}}x{{end}}", "template: line 1: {{with}} is not supported" + kOnly},
    {"Define", "{{define \"x\"}}y{{end}}", "template: line 1: {{define}} is not supported" + kOnly},
    {"TemplateCall", "{{template \"x\"}}",
     "template: line 1: {{template}} is not supported" + kOnly},
    {"Block", "{{block \"x\" .}}y{{end}}", "template: line 1: {{block}} is not supported" + kOnly},
    {"Printf", "{{printf \"%s\" .RunID}}",
     "template: line 1: function \"printf\" is not supported" + kOnly},
    {"Not", "{{if not .RunID}}x{{end}}",
     "template: line 1: function \"not\" is not supported" + kOnly},
    {"Eq", "{{if eq .Phase \"x\"}}y{{end}}",
     "template: line 1: function \"eq\" is not supported" + kOnly},
    {"Pipeline", "{{.RunID | printf \"%q\"}}",
     "template: line 1: pipelines (|) are not supported" + kOnly},
    {"PipelineNoSpaces", "{{.RunID|len}}",
     "template: line 1: pipelines (|) are not supported" + kOnly},
    {"Parentheses", "{{(.RunID)}}", "template: line 1: parentheses are not supported" + kOnly},
    {"Variable", "{{$x := .RunID}}", "template: line 1: variables ($x) are not supported" + kOnly},
    {"DollarRoot", "{{$.RunID}}",
     "template: line 1: variables ($.RunID) are not supported" + kOnly},
    {"StringLiteral", "{{\"hi\"}}", "template: line 1: literals are not supported" + kOnly},
    {"RawStringLiteral", "{{`hi`}}", "template: line 1: literals are not supported" + kOnly},
    {"NumberLiteral", "{{42}}", "template: line 1: literals are not supported" + kOnly},
    {"NegativeNumber", "{{ -3}}", "template: line 1: literals are not supported" + kOnly},
    {"BoolLiteral", "{{if true}}x{{end}}", "template: line 1: literals are not supported" + kOnly},
    {"Nil", "{{nil}}", "template: line 1: literals are not supported" + kOnly},
    {"BadCharacter", "{{@x}}", "template: line 1: unexpected \"@x\" in action"},

    // Line numbers: the line of the action's "{{"; for a missing {{end}}, the last line.
    {"LineOfLaterAction", "line1\nline2 {{.RunID}}\n\n{{.Bad}}\n",
     "template: line 4: unknown field .Bad"},
    {"LineOfMultiLineAction", "a\n{{\n.Bad\n}}", "template: line 2: unknown field .Bad"},
    {"LineAfterMultiLineComment", "{{/*\n\n*/}}{{.Bad}}", "template: line 3: unknown field .Bad"},
    {"LineAfterTrim", "a\n\n{{- .RunID -}}\n\n{{.Bad}}", "template: line 5: unknown field .Bad"},
    {"LineOfUnclosedAction", "a\nb\nc {{.RunID\n}", "template: line 3: unclosed action"},
    {"LineOfMissingEnd", "a\n{{if .RunID}}\nb\n",
     "template: line 4: unexpected EOF: missing {{end}} for {{if .RunID}} on line 2"},
    {"LineOfDuplicateElse", "{{if .RunID}}\n{{else}}\n{{else}}\n{{end}}",
     "template: line 3: duplicate {{else}} in {{if .RunID}} on line 1"},
    {"FirstErrorWins", "{{.Bad1}}\n{{range}}", "template: line 1: unknown field .Bad1"},
};

INSTANTIATE_TEST_SUITE_P(PromptTemplate, PromptTemplateError, ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PromptTemplateTest, ErrorIsRuntimeError) {
  EXPECT_THROW(PromptTemplate::parse("{{.Foo}}"), std::runtime_error);
}

TEST(PromptTemplateTest, ParseOnceRenderMany) {
  const PromptTemplate t = PromptTemplate::parse(
      "Iteration {{.Iteration}} of {{.MaxIterations}}{{if .DiffStat}}\n{{.DiffStat}}{{end}}");
  EXPECT_EQ(t.render(blank()), "Iteration 0 of 10");
  EXPECT_EQ(t.render(full()), "Iteration 3 of 10\n a.cc | 2 +-\n 1 file changed");
  EXPECT_EQ(t.render(blank()), "Iteration 0 of 10");
}

TEST(PromptTemplateTest, Empty) {
  EXPECT_TRUE(PromptTemplate().empty());
  EXPECT_EQ(PromptTemplate().render(full()), "");
  EXPECT_TRUE(PromptTemplate::parse("").empty());
  EXPECT_TRUE(PromptTemplate::parse("{{/* only a comment */}}").empty());
  EXPECT_TRUE(PromptTemplate::parse(" \n{{- /* trimmed */ -}}\n ").empty());
  EXPECT_FALSE(PromptTemplate::parse(" ").empty());
  EXPECT_FALSE(PromptTemplate::parse("{{.TeamOutput}}").empty());
}

TEST(PromptTemplateTest, UsesSeesFieldsInTextAndConditions) {
  const auto diff = &TemplateValues::diff_stat;
  const auto files = &TemplateValues::changed_files;
  EXPECT_TRUE(PromptTemplate::parse("x {{.DiffStat}}").uses(diff));
  EXPECT_FALSE(PromptTemplate::parse("x {{.DiffStat}}").uses(files));
  EXPECT_TRUE(PromptTemplate::parse("{{if .ChangedFiles}}y{{end}}").uses(files));
  EXPECT_TRUE(PromptTemplate::parse("{{if .RunID}}{{else}}{{.DiffStat}}{{end}}").uses(diff));
  EXPECT_FALSE(PromptTemplate::parse("{{/* .DiffStat */}}DiffStat {{.Phase}}").uses(diff));
  EXPECT_FALSE(PromptTemplate().uses(diff));
}

TEST(PromptTemplateTest, DeepNesting) {
  constexpr int kDepth = 200;
  std::string text;
  for (int i = 0; i < kDepth; ++i) text += "{{if .RunID}}(";
  text += "{{.Phase}}";
  for (int i = 0; i < kDepth; ++i) text += "){{else}}x{{end}}";
  const PromptTemplate t = PromptTemplate::parse(text);
  EXPECT_EQ(t.render(full()), std::string(kDepth, '(') + "implement" + std::string(kDepth, ')'));
  EXPECT_EQ(t.render(with([](auto& v) { v.run_id.clear(); })), "x");
}

TEST(PromptTemplateTest, LargeTemplate) {
  constexpr int kLines = 5000;
  std::string text;
  std::string expected;
  for (int i = 1; i <= kLines; ++i) {
    const std::string n = std::to_string(i);
    text += "line " + n + ": {{.RunID}}{{if .Iteration}} it={{.Iteration}}{{end}}\n";
    expected += "line " + n + ": run-42 it=3\n";
  }
  EXPECT_EQ(render(text, full()), expected);
  EXPECT_EQ(parse_error(text + "{{.Bad}}"),
            "template: line " + std::to_string(kLines + 1) + ": unknown field .Bad");
  EXPECT_EQ(parse_error("{{if .RunID}}\n" + text),
            "template: line " + std::to_string(kLines + 2) +
                ": unexpected EOF: missing {{end}} for {{if .RunID}} on line 1");
}

}  // namespace
}  // namespace avenor::host
