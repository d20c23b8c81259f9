#include "control_client/tail_queue.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace avenor::host::control_client {
namespace {

TEST(ControlClientTailQueue, DeliversInOrderAndDrainsAfterClose) {
  TailQueue queue(4);
  queue.push("a");
  queue.push("b");
  queue.close();
  auto first = queue.pop();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->line, "a");
  EXPECT_EQ(first->dropped_before, 0u);
  EXPECT_TRUE(first->more_ready);
  auto second = queue.pop();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->line, "b");
  EXPECT_FALSE(second->more_ready);
  EXPECT_FALSE(queue.pop());
  EXPECT_FALSE(queue.error());
}

TEST(ControlClientTailQueue, FullQueueDropsOldestAndCoalescesTheCount) {
  TailQueue queue(3);
  for (int i = 0; i < 10; ++i) queue.push(std::to_string(i));
  auto item = queue.pop();
  ASSERT_TRUE(item);
  EXPECT_EQ(item->dropped_before, 7u);  // 0..6 were dropped, 7 8 9 kept
  EXPECT_EQ(item->line, "7");
  item = queue.pop();
  EXPECT_EQ(item->dropped_before, 0u);
  EXPECT_EQ(item->line, "8");
  queue.push("10");
  queue.push("11");
  queue.push("12");  // full again (9 10 11): drops 9
  item = queue.pop();
  EXPECT_EQ(item->dropped_before, 1u);
  EXPECT_EQ(item->line, "10");
}

TEST(ControlClientTailQueue, DefaultCapacityIs256) {
  TailQueue queue;
  for (int i = 0; i < 300; ++i) queue.push(std::to_string(i));
  queue.close("read: connection reset");
  auto item = queue.pop();
  ASSERT_TRUE(item);
  EXPECT_EQ(item->dropped_before, 44u);
  EXPECT_EQ(item->line, "44");
  int count = 1;
  while (queue.pop()) ++count;
  EXPECT_EQ(count, 256);
  EXPECT_EQ(queue.error(), "read: connection reset");
}

TEST(ControlClientTailQueue, PopWaitsForTheReader) {
  TailQueue queue;
  std::thread reader([&] {
    for (int i = 0; i < 1000; ++i) queue.push(std::to_string(i));
    queue.close();
  });
  std::uint64_t seen = 0;
  std::uint64_t dropped = 0;
  int last = -1;
  while (auto item = queue.pop()) {
    ++seen;
    dropped += item->dropped_before;
    const int value = std::stoi(item->line);
    EXPECT_GT(value, last);
    last = value;
  }
  reader.join();
  EXPECT_EQ(seen + dropped, 1000u);
  EXPECT_EQ(last, 999);
}

TEST(ControlClientTailQueue, ZeroCapacityIsRejected) {
  EXPECT_THROW(TailQueue(0), std::invalid_argument);
}

}  // namespace
}  // namespace avenor::host::control_client
