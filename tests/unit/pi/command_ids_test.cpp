#include "pi/command_ids.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace {

using avenor::pi::CommandIds;

TEST(PiCommandIds, NanosThenACounter) {
  std::int64_t now = 1700000000123456789;
  CommandIds ids([&] { return now; });
  EXPECT_EQ(ids.next(), "avenor-1700000000123456789-1");
  now += 5;
  EXPECT_EQ(ids.next(), "avenor-1700000000123456794-2");
}

TEST(PiCommandIds, SystemClockIdsAreUnique) {
  CommandIds ids;
  std::string a = ids.next(), b = ids.next();
  EXPECT_NE(a, b);
  EXPECT_TRUE(std::regex_match(a, std::regex("avenor-[0-9]{16,}-1"))) << a;
}

}  // namespace
