// YAML and TOML to boost::json (loop/structured_text.hpp): the conversion the
// loop file validator relies on for types.
#include "loop/structured_text.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>

#include "../host/test_support.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;

bj::value yaml(std::string_view text) { return parse_structured_text(text, TextFormat::yaml); }

std::string error_of(std::string_view text, TextFormat format) {
  try {
    parse_structured_text(text, format);
  } catch (const StructuredTextError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LoopConfigStructuredText, FormatByExtension) {
  EXPECT_EQ(text_format_for("a/b.yaml"), TextFormat::yaml);
  EXPECT_EQ(text_format_for("b.YML"), TextFormat::yaml);
  EXPECT_EQ(text_format_for("b.toml"), TextFormat::toml);
  EXPECT_EQ(text_format_for("b.Toml"), TextFormat::toml);
  EXPECT_EQ(text_format_for("b.json"), TextFormat::json);
  EXPECT_EQ(text_format_for("b.txt"), TextFormat::json);
  EXPECT_EQ(text_format_for("yaml"), TextFormat::json);
}

TEST(LoopConfigStructuredText, ThreeFormatsOneValue) {
  const bj::value expected =
      bj::parse(R"({"n": 3, "f": 1.5, "b": true, "s": "x", "a": [1, "y"], "t": {"k": "v"}})");
  EXPECT_EQ(parse_structured_text(
                R"({"n": 3, "f": 1.5, "b": true, "s": "x", "a": [1, "y"], "t": {"k": "v"}})",
                TextFormat::json),
            expected);
  EXPECT_EQ(yaml("n: 3\nf: 1.5\nb: true\ns: x\na: [1, \"y\"]\nt:\n  k: v\n"), expected);
  EXPECT_EQ(parse_structured_text("n = 3\nf = 1.5\nb = true\ns = 'x'\na = [1, 'y']\n[t]\nk = 'v'\n",
                                  TextFormat::toml),
            expected);
}

TEST(LoopConfigStructuredText, YamlPlainScalarsFollowTheCoreSchema) {
  const bj::value v = yaml(
      "a: 12\nb: -7\nc: +5\nd: 0o17\ne: 0x1F\nf: 1.25\ng: .5\nh: 1e3\ni: .inf\nj: -.Inf\n"
      "k: true\nl: FALSE\nm: ~\nn: null\no:\np: yes\nq: 12abc\nr: 99999999999999999999\n");
  const bj::object& o = v.as_object();
  EXPECT_EQ(o.at("a"), bj::value(12));
  EXPECT_EQ(o.at("b"), bj::value(-7));
  EXPECT_EQ(o.at("c"), bj::value(5));
  EXPECT_EQ(o.at("d"), bj::value(15));
  EXPECT_EQ(o.at("e"), bj::value(31));
  EXPECT_EQ(o.at("f"), bj::value(1.25));
  EXPECT_EQ(o.at("g"), bj::value(0.5));
  EXPECT_EQ(o.at("h"), bj::value(1000.0));
  EXPECT_TRUE(std::isinf(o.at("i").as_double()) && o.at("i").as_double() > 0);
  EXPECT_TRUE(std::isinf(o.at("j").as_double()) && o.at("j").as_double() < 0);
  EXPECT_EQ(o.at("k"), bj::value(true));
  EXPECT_EQ(o.at("l"), bj::value(false));
  EXPECT_TRUE(o.at("m").is_null());
  EXPECT_TRUE(o.at("n").is_null());
  EXPECT_TRUE(o.at("o").is_null());
  EXPECT_EQ(o.at("p"), bj::value("yes"));  // YAML 1.1 booleans are strings in 1.2
  EXPECT_EQ(o.at("q"), bj::value("12abc"));
  EXPECT_TRUE(o.at("r").is_double());  // beyond int64, like JSON
}

TEST(LoopConfigStructuredText, YamlQuotedAndBlockScalarsStayStrings) {
  const bj::value v = yaml(
      "a: '12'\nb: \"true\"\nc: 'null'\nd: \"\"\ne: |\n  12\nf: >-\n  true\ng: !!str 3\n"
      "h: !!float 3\ni: !!int \"4\"\n");
  const bj::object& o = v.as_object();
  EXPECT_EQ(o.at("a"), bj::value("12"));
  EXPECT_EQ(o.at("b"), bj::value("true"));
  EXPECT_EQ(o.at("c"), bj::value("null"));
  EXPECT_EQ(o.at("d"), bj::value(""));
  EXPECT_EQ(o.at("e"), bj::value("12\n"));
  EXPECT_EQ(o.at("f"), bj::value("true"));
  EXPECT_EQ(o.at("g"), bj::value("3"));
  EXPECT_EQ(o.at("h"), bj::value(3.0));
  EXPECT_EQ(o.at("i"), bj::value(4));
}

TEST(LoopConfigStructuredText, YamlAnchorsResolve) {
  const bj::value v = yaml("a: &p hello\nb: *p\n");
  EXPECT_EQ(v.at("b"), bj::value("hello"));
}

TEST(LoopConfigStructuredText, YamlRejects) {
  EXPECT_EQ(error_of("a: !custom 1\n", TextFormat::yaml),
            "line 1, column 4: unsupported YAML tag \"!custom\"");
  EXPECT_EQ(error_of("[1, 2]: x\n", TextFormat::yaml),
            "line 1, column 1: mapping keys must be scalars");
  EXPECT_EQ(error_of("a: 1\n---\na: 2\n", TextFormat::yaml),
            "line 3, column 1: expected one YAML document, found 2");
  EXPECT_EQ(error_of("", TextFormat::yaml), "empty YAML document");
  EXPECT_EQ(error_of("~\n", TextFormat::yaml), "empty YAML document");
}

TEST(LoopConfigStructuredText, TomlTablesArraysAndDates) {
  const bj::value v = parse_structured_text(
      "d = 1979-05-27\nt = 07:32:00\ndt = 1979-05-27T07:32:00Z\n"
      "[[loop]]\nname = 'a'\n[[loop]]\nname = 'b'\n[x.y]\nz = 1\n",
      TextFormat::toml);
  EXPECT_EQ(v, bj::parse(R"({"d": "1979-05-27", "t": "07:32:00", "dt": "1979-05-27T07:32:00Z",
                             "loop": [{"name": "a"}, {"name": "b"}], "x": {"y": {"z": 1}}})"));
}

TEST(LoopConfigStructuredText, JsonErrorsCarryLineAndColumn) {
  EXPECT_EQ(error_of("{\n  \"a\": 1,\n}", TextFormat::json), "line 3, column 1: syntax error");
  EXPECT_EQ(error_of("{} []", TextFormat::json), "line 1, column 4: extra data");
  EXPECT_EQ(error_of("{}\n\n  []", TextFormat::json), "line 3, column 3: extra data");
  EXPECT_EQ(error_of("", TextFormat::json), "line 1, column 1: incomplete JSON");
  EXPECT_EQ(error_of("{\"a\": 1} // no comments", TextFormat::json),
            "line 1, column 10: extra data");
}

TEST(LoopConfigStructuredText, FileReadErrorsAreSystemErrors) {
  test::TempDir dir;
  try {
    parse_structured_file(dir / "none.yaml");
    FAIL() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
  }
}

}  // namespace
}  // namespace avenor::host
