#include "claude/session_ids.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace {

using avenor::claude::SessionIds;

TEST(ClaudeSessionIds, Version4Uuids) {
  std::uint64_t n = 0;
  SessionIds ids([&n] { return ~std::uint64_t{0} - n++; });
  const std::string a = ids.new_session_uuid();
  EXPECT_TRUE(std::regex_match(
      a, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << a;
  EXPECT_NE(a, ids.new_session_uuid());
  SessionIds real;
  EXPECT_NE(real.new_session_uuid(), real.new_session_uuid());
}

TEST(ClaudeSessionIds, RequestIdsCount) {
  SessionIds ids;
  EXPECT_EQ(ids.next_request_id(), "avenor-1");
  EXPECT_EQ(ids.next_request_id(), "avenor-2");
}

}  // namespace
