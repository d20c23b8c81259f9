// Lenient decoding (issue 15 item 4): what agents really send must not fail a
// run over one character, and numbers out of range must neither vanish nor
// become undefined behaviour.
#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/json_repair.hpp>
#include <avenor/sdk/json_text.hpp>
#include <avenor/sdk/utf8.hpp>
#include <avenor/sdk/utf8_cut.hpp>
#include <limits>
#include <string>

namespace {

namespace bj = boost::json;
namespace json = avenor::sdk::json;
namespace utf8 = avenor::sdk::utf8;
using avenor::sdk::json_text::compact;

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

std::string text_of(std::string_view frame) {
  boost::system::error_code ec;
  const bj::value v = json::parse(frame, ec);
  EXPECT_FALSE(ec) << frame << ": " << ec.message();
  return std::string(v.at("a").as_string());
}

TEST(JsonRepair, LoneSurrogatesBecomeReplacementCharacters) {
  EXPECT_EQ(text_of(R"({"a":"\ud800"})"), kFffd);
  EXPECT_EQ(text_of(R"({"a":"\udc00x"})"), std::string(kFffd) + "x");
  EXPECT_EQ(text_of(R"({"a":"x\ud83d"})"), "x" + std::string(kFffd));  // an emoji cut in half
  EXPECT_EQ(text_of(R"({"a":"\ud800\u0041"})"), std::string(kFffd) + "A");
  EXPECT_EQ(text_of(R"({"a":"\udc00\ud800"})"), std::string(kFffd) + std::string(kFffd));
  // A proper pair and a plain escape stay as they are.
  EXPECT_EQ(text_of(R"({"a":"\ud83d\ude00"})"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(text_of(R"({"a":"\\ud800"})"), "\\ud800");  // an escaped backslash, not an escape
}

TEST(JsonRepair, InvalidUtf8BytesBecomeReplacementCharacters) {
  EXPECT_EQ(text_of("{\"a\":\"x\xff y\"}"), "x" + std::string(kFffd) + " y");
  EXPECT_EQ(text_of("{\"a\":\"\xe2\x82\"}"), std::string(kFffd) + std::string(kFffd));
  EXPECT_EQ(text_of("{\"a\":\"\xc3\xa9\"}"), "\xc3\xa9");
}

TEST(JsonRepair, NonFiniteTokensBecomeNull) {
  boost::system::error_code ec;
  const bj::value v = json::parse(R"({"a":NaN,"b":[Infinity,-Infinity],"c":"NaN"})", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(v.at("a").is_null());
  EXPECT_TRUE(v.at("b").at(0).is_null());
  EXPECT_TRUE(v.at("b").at(1).is_null());
  EXPECT_EQ(v.at("c"), "NaN");  // inside a string: untouched
}

TEST(JsonRepair, NothingToRepairAndRealErrorsStay) {
  EXPECT_FALSE(json::repair(R"({"a":"b\n\u00e9"})").has_value());
  boost::system::error_code ec;
  json::parse(R"({"a":1,})", ec);
  EXPECT_TRUE(ec);
  json::parse("{\"a\":\"\\ud800\"", ec);  // repaired, but still cut off
  EXPECT_TRUE(ec);
  EXPECT_THROW(json::parse("{"), std::runtime_error);
}

TEST(JsonParser, ReusedAcrossTextsAndAfterErrors) {
  json::Parser parser;
  boost::system::error_code ec;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(parser.parse(R"({"n":1})", ec).at("n").as_int64(), 1);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(parser.parse("[1,", ec).is_null());
    EXPECT_TRUE(ec);
    EXPECT_EQ(std::string(parser.parse(R"(["\udfff"])", ec).at(0).as_string()), kFffd);
    EXPECT_FALSE(ec);
  }
}

TEST(JsonNumbers, OutOfRangeDoublesSerialiseAsNull) {
  // Boost parses 1e400 as infinity; JSON has no such number, so the encoder
  // writes null (as JSON.stringify does) instead of dropping the event.
  const bj::value v = json::parse(R"({"big":1e400,"small":-1e400,"tiny":1e-400,"ok":1.5})");
  EXPECT_EQ(compact(v), R"({"big":null,"small":null,"tiny":0,"ok":1.5})");
}

TEST(JsonNumbers, FindIntClampsInsteadOfOverflowing) {
  const bj::object o = json::parse(R"({"inf":1e400,"ninf":-1e400,"u":18446744073709551615,)"
                                   R"("big":1e19,"neg":-1e19,"f":2.9})")
                           .as_object();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(json::find_int(o, "inf"), kMax);
  EXPECT_EQ(json::find_int(o, "ninf"), kMin);
  EXPECT_EQ(json::find_int(o, "u"), kMax);
  EXPECT_EQ(json::find_int(o, "big"), kMax);
  EXPECT_EQ(json::find_int(o, "neg"), kMin);
  EXPECT_EQ(json::find_int(o, "f"), 2);
}

TEST(JsonText, EncoderWritesOnlyValidUtf8) {
  EXPECT_EQ(compact(bj::value("a\xff\xc3\xa9\xed\xa0\x80z")),
            "\"a" + std::string(kFffd) + "\xc3\xa9" + std::string(kFffd) + std::string(kFffd) +
                std::string(kFffd) + "z\"");
  EXPECT_EQ(compact(bj::value("\x01\n\"\\")), R"("\u0001\n\"\\")");
}

TEST(Utf8, ValidationAndReplacement) {
  EXPECT_TRUE(utf8::is_valid(""));
  EXPECT_TRUE(utf8::is_valid("plain ascii long enough for words"));
  EXPECT_TRUE(utf8::is_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(utf8::is_valid("abcdefgh\xff"));
  EXPECT_FALSE(utf8::is_valid("\xed\xa0\x80"));  // an encoded surrogate
  EXPECT_FALSE(utf8::is_valid("\xc0\xaf"));      // overlong
  EXPECT_EQ(utf8::to_valid("ab\xffz"), "ab" + std::string(kFffd) + "z");
}

TEST(Utf8, ExcerptOfABadFrameIsValidText) {
  const std::string frame = "{\"a\":\"\xff\xfe" + std::string(300, 'x') + "\"}";
  const std::string cut = avenor::sdk::excerpt(frame);
  EXPECT_TRUE(utf8::is_valid(cut));
  EXPECT_TRUE(cut.ends_with("..."));
  EXPECT_TRUE(utf8::is_valid(avenor::sdk::excerpt("\xe2\x82")));
}

}  // namespace
