#include "run/thinking.hpp"

#include <avenor/abi/plugin_abi.h>
#include <gtest/gtest.h>

namespace avenor::host {
namespace {

TEST(Thinking, VocabularyMatchesExactly) {
  EXPECT_EQ(thinking_level_bit("off"), AVENOR_THINKING_OFF);
  EXPECT_EQ(thinking_level_bit("xhigh"), AVENOR_THINKING_XHIGH);
  EXPECT_EQ(thinking_level_bit("max"), AVENOR_THINKING_MAX);
  EXPECT_FALSE(thinking_level_bit("HIGH"));
  EXPECT_FALSE(thinking_level_bit(" high"));
  EXPECT_FALSE(thinking_level_bit(""));
}

TEST(Thinking, LevelNamesInVocabularyOrder) {
  EXPECT_EQ(thinking_level_names(AVENOR_THINKING_MAX | AVENOR_THINKING_LOW | AVENOR_THINKING_HIGH),
            "low, high, max");
  EXPECT_EQ(thinking_level_names(0), "");
  EXPECT_EQ(thinking_vocabulary(), "off, minimal, low, medium, high, xhigh, max");
}

}  // namespace
}  // namespace avenor::host
