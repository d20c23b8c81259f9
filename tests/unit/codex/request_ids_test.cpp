#include "codex/request_ids.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {

using avenor::codex::clock_request_ids;
using avenor::codex::request_id;

TEST(CodexRequestIds, NanosDashCounter) {
  EXPECT_EQ(request_id(1700000000123456789, 1), "1700000000123456789-1");
  EXPECT_EQ(request_id(5, 42), "5-42");
}

TEST(CodexRequestIds, ClockIdsCarryTheCounterAndAPlausibleTime) {
  auto ids = clock_request_ids();
  std::string first = ids(1), second = ids(2);
  ASSERT_NE(first.find('-'), std::string::npos);
  EXPECT_TRUE(first.ends_with("-1"));
  EXPECT_TRUE(second.ends_with("-2"));
  std::int64_t nanos = std::stoll(first.substr(0, first.find('-')));
  EXPECT_GT(nanos, std::int64_t{1'600'000'000} * 1'000'000'000);  // after 2020
  EXPECT_LE(nanos, std::stoll(second.substr(0, second.find('-'))));
}

}  // namespace
