// ToolArgs: the strict reading of one tool call's arguments (control.md §11.3).
#include "mcp/tool_args.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace avenor::host::mcp {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

json::object obj(const char* text) { return json::parse(text).as_object(); }

// The message of the ToolError `f` throws, or "<no error>".
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ToolError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(McpToolArgs, UnknownKeyIsRejectedByName) {
  const json::object args = obj(R"({"a":"x","k":1})");
  EXPECT_EQ(error_of([&] { (void)ToolArgs(args, {"a"}); }), "unknown parameter \"k\"");
  // Even a null value of an unknown key is a mistake worth reporting.
  const json::object null_args = obj(R"({"k":null})");
  EXPECT_EQ(error_of([&] { (void)ToolArgs(null_args, {"a"}); }), "unknown parameter \"k\"");
  // Known keys only: fine.
  EXPECT_EQ(error_of([&] { (void)ToolArgs(args, {"a", "k"}); }), "<no error>");
  const json::object empty;
  EXPECT_EQ(error_of([&] { (void)ToolArgs(empty, {}); }), "<no error>");
}

TEST(McpToolArgs, StringBooleanIntegerStringsTypes) {
  const json::object args =
      obj(R"({"s":"text","b":true,"i":7,"l":["x","y"],"n":5,"t":"true","o":{},"a":[1]})");
  const ToolArgs a(args, {"s", "b", "i", "l", "n", "t", "o", "a"});
  EXPECT_EQ(a.string("s"), "text");
  EXPECT_EQ(a.boolean("b"), true);
  EXPECT_EQ(a.integer("i"), 7);
  EXPECT_EQ(a.strings("l"), (std::vector<std::string>{"x", "y"}));

  EXPECT_EQ(error_of([&] { a.string("n"); }), "parameter \"n\" must be a string");
  EXPECT_EQ(error_of([&] { a.string("o"); }), "parameter \"o\" must be a string");
  EXPECT_EQ(error_of([&] { a.boolean("t"); }), "parameter \"t\" must be a boolean");
  EXPECT_EQ(error_of([&] { a.boolean("n"); }), "parameter \"n\" must be a boolean");
  EXPECT_EQ(error_of([&] { a.integer("s"); }), "parameter \"s\" must be an integer");
  EXPECT_EQ(error_of([&] { a.integer("b"); }), "parameter \"b\" must be an integer");
  EXPECT_EQ(error_of([&] { a.strings("s"); }), "parameter \"s\" must be an array of strings");
  EXPECT_EQ(error_of([&] { a.strings("a"); }), "parameter \"a\" must be an array of strings");
}

TEST(McpToolArgs, NullIsAbsent) {
  const json::object args = obj(R"({"s":null,"b":null,"i":null,"l":null,"d":null})");
  const ToolArgs a(args, {"s", "b", "i", "l", "d", "missing"});
  EXPECT_EQ(a.string("s"), std::nullopt);
  EXPECT_EQ(a.boolean("b"), std::nullopt);
  EXPECT_EQ(a.integer("i"), std::nullopt);
  EXPECT_EQ(a.strings("l"), std::nullopt);
  EXPECT_EQ(a.duration("d"), std::nullopt);
  EXPECT_FALSE(a.has("s"));
  EXPECT_EQ(a.string("missing"), std::nullopt);
  EXPECT_FALSE(a.has("missing"));
  EXPECT_EQ(error_of([&] { a.required("s"); }), "s is required");
}

TEST(McpToolArgs, WholeDoublesAreIntegers) {
  const json::object args =
      obj(R"({"whole":5.0,"neg":-2.0,"half":5.5,"huge":1e300,"big":18446744073709551615})");
  const ToolArgs a(args, {"whole", "neg", "half", "huge", "big"});
  EXPECT_EQ(a.integer("whole"), 5);
  EXPECT_EQ(a.integer("neg"), -2);
  EXPECT_EQ(error_of([&] { a.integer("half"); }), "parameter \"half\" must be an integer");
  EXPECT_EQ(error_of([&] { a.integer("huge"); }), "parameter \"huge\" must be an integer");
  // A uint64 beyond int64 is not silently wrapped.
  EXPECT_EQ(error_of([&] { a.integer("big"); }), "parameter \"big\" must be an integer");
}

TEST(McpToolArgs, RequiredRejectsAbsentAndEmpty) {
  const json::object args = obj(R"({"run_id":"r1","empty":"","num":3})");
  const ToolArgs a(args, {"run_id", "empty", "num", "absent"});
  EXPECT_EQ(a.required("run_id"), "r1");
  EXPECT_EQ(error_of([&] { a.required("absent"); }), "absent is required");
  EXPECT_EQ(error_of([&] { a.required("empty"); }), "empty is required");
  EXPECT_EQ(error_of([&] { a.required("num"); }), "parameter \"num\" must be a string");
}

// duration("d") of the JSON value `value`.
std::optional<seconds> duration_of(const char* value) {
  const json::object args = obj((std::string(R"({"d":)") + value + "}").c_str());
  return ToolArgs(args, {"d"}).duration("d");
}

std::string duration_error(const char* value) {
  return error_of([&] { duration_of(value); });
}

TEST(McpToolArgs, DurationAcceptsSecondsAndGoDurations) {
  EXPECT_EQ(duration_of(R"("90")"), seconds(90));  // a bare number is seconds
  EXPECT_EQ(duration_of(R"("90s")"), seconds(90));
  EXPECT_EQ(duration_of(R"("10m")"), seconds(600));
  EXPECT_EQ(duration_of(R"("2h")"), seconds(7200));
  EXPECT_EQ(duration_of(R"("1m30s")"), seconds(90));
  EXPECT_EQ(duration_of("30"), seconds(30));  // an integer is seconds
  EXPECT_EQ(duration_of("30.0"), seconds(30));
  // Sent as whole seconds: below one second rounds up, never to "no limit".
  EXPECT_EQ(duration_of(R"("500ms")"), seconds(1));
  EXPECT_EQ(duration_of(R"("1.5s")"), seconds(2));
}

TEST(McpToolArgs, DurationRejectsNonPositiveAndGarbage) {
  const std::string bad = "d must be a positive duration like 90s, 10m or 2h";
  for (const char* v : {R"("0")", R"("0s")", R"("-5s")", "0", "-3", R"("abc")", "true", "0.5",
                        R"("")", R"("5 s")", R"("5d")", R"("99999999999999999999")", "[]", "{}",
                        // over 100 years, as text or as a number
                        R"("900000h")", R"("3200000000")", "3200000000"}) {
    EXPECT_EQ(duration_error(v), bad) << "value " << v;
  }
}

}  // namespace
}  // namespace avenor::host::mcp
