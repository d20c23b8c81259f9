#include "util/duration.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace avenor::host {
namespace {

using std::chrono::nanoseconds;
constexpr std::int64_t kSec = 1'000'000'000;

TEST(ParseGoDuration, AcceptsGoSyntax) {
  const std::vector<std::pair<std::string, std::int64_t>> cases = {
      {"0", 0},
      {"+0", 0},
      {"-0", 0},
      {"0s", 0},
      {"5s", 5 * kSec},
      {"30s", 30 * kSec},
      {"1478s", 1478 * kSec},
      {"-5s", -5 * kSec},
      {"+5s", 5 * kSec},
      {"-2s", -2 * kSec},
      {"250ms", 250'000'000},
      {"1.5s", 1'500'000'000},
      {".5s", 500'000'000},
      {"5.s", 5 * kSec},
      {"1.0s", kSec},
      {"1.004s", 1'004'000'000},
      {"100.00100s", 100'001'000'000},
      {"10ns", 10},
      {"11us", 11'000},
      {"12\xC2\xB5s", 12'000},  // U+00B5 micro sign
      {"12\xCE\xBCs", 12'000},  // U+03BC greek mu
      {"13ms", 13'000'000},
      {"14s", 14 * kSec},
      {"15m", 15 * 60 * kSec},
      {"16h", 16 * 3600 * kSec},
      {"1h30m", 5400 * kSec},
      {"3h30m", 12600 * kSec},
      {"10.5s4m", 4 * 60 * kSec + 10'500'000'000},
      {"-2m3.4s", -(2 * 60 * kSec + 3'400'000'000)},
      {"1h2m3s4ms5us6ns", 3723 * kSec + 4'005'006},
      {"39h9m14.425s", 140954'425'000'000},
      {"52763797000ns", 52'763'797'000},
      {"0.3333333333333333333h", 20 * 60 * kSec},
      {"9007199254740993ns", 9007199254740993},
      {"9223372036854775807ns", std::numeric_limits<std::int64_t>::max()},
      {"9223372036854775.807us", std::numeric_limits<std::int64_t>::max()},
      {"-9223372036854775808ns", std::numeric_limits<std::int64_t>::min()},
      {"0.100000000000000000000h", 6 * 60 * kSec},
      {"0.830103483285477580700h", 49 * 60 * kSec + 48'372'539'827},
  };
  for (const auto& [text, want] : cases) {
    auto got = parse_go_duration(text);
    ASSERT_TRUE(got.has_value()) << text;
    EXPECT_EQ(got->count(), want) << text;
  }
}

TEST(ParseGoDuration, RejectsWhatGoRejects) {
  for (const char* text : {"",
                           "3",
                           "-",
                           "s",
                           ".",
                           "-.",
                           ".s",
                           "+.s",
                           "1d",
                           "1h1",
                           "1s2",
                           "\x85\x85",
                           "\xff"
                           "ff",
                           "hello \xff\xff world",
                           "9223372036854775808ns",
                           "-9223372036854775809ns",
                           "3000000h",
                           "9223372036854775808s",
                           " 1s",
                           "1s ",
                           "1e3s",
                           "1.5",
                           "--1s"}) {
    EXPECT_FALSE(parse_go_duration(text).has_value()) << text;
  }
}

TEST(FormatGoDuration, MatchesGoString) {
  const std::vector<std::pair<std::int64_t, std::string>> cases = {
      {0, "0s"},
      {1, "1ns"},
      {1100, "1.1\xC2\xB5s"},
      {2'200'000, "2.2ms"},
      {250'000'000, "250ms"},
      {1'500'000'000, "1.5s"},
      {90 * kSec, "1m30s"},
      {3 * kSec + 1'000'000, "3.001s"},
      {4 * 60 * kSec + 5 * kSec + 1'000'000, "4m5.001s"},
      {5 * 3600 * kSec + 6 * 60 * kSec + 7'001'000'000, "5h6m7.001s"},
      {8 * 60 * kSec + 1, "8m0.000000001s"},
      {3600 * kSec, "1h0m0s"},
      {-2 * kSec, "-2s"},
      {-1, "-1ns"},
      {std::numeric_limits<std::int64_t>::max(), "2562047h47m16.854775807s"},
      {std::numeric_limits<std::int64_t>::min(), "-2562047h47m16.854775808s"},
  };
  for (const auto& [ns, want] : cases) EXPECT_EQ(format_go_duration(nanoseconds{ns}), want) << ns;
}

TEST(FormatGoDuration, RoundTripsThroughParse) {
  for (std::int64_t ns : {std::int64_t{1}, std::int64_t{999}, std::int64_t{1'234'567},
                          std::int64_t{61} * kSec, std::int64_t{-7'200} * kSec}) {
    auto back = parse_go_duration(format_go_duration(nanoseconds{ns}));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->count(), ns);
  }
}

}  // namespace
}  // namespace avenor::host
