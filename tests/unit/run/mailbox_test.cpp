// The run's mailbox with batches of events: a batch yields and drains like as
// many separate messages, so the event loop stays fair and a flood cannot pile
// up (issue 15: the event path batches, RSS must not grow).
#include "run/mailbox.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <string>

namespace avenor::host {
namespace {

namespace asio = boost::asio;

TEST(Mailbox, BudgetFollowsTheYieldRhythmUnlessABacklogMustDrain) {
  asio::io_context io;
  Mailbox<std::string> box(io.get_executor());
  // A small batch in hand, nothing queued: the budget is what is left of
  // the 32 messages between yields (one is counted by the pop).
  box.push("batch", 10);
  std::string got;
  // A named coroutine lambda: its captures must outlive the coroutine.
  auto take = [&]() -> asio::awaitable<void> { got = co_await box.pop(); };
  asio::co_spawn(io, take(), asio::detached);
  io.run();
  EXPECT_EQ(got, "batch");
  EXPECT_EQ(box.budget(10), 31u);
  box.consumed(31);
  EXPECT_EQ(box.budget(10), 1u);  // the next pop yields first

  // A backlog (more queued than 256 items): drain what is in hand, no yield.
  box.push("big", 300);
  EXPECT_EQ(box.budget(5), 5u);
  box.erase_if([](const std::string& m) { return m == "big"; });
  EXPECT_TRUE(box.empty());
  EXPECT_EQ(box.budget(5), 1u);  // the backlog is gone with the message
}

TEST(Mailbox, PushFrontComesNext) {
  asio::io_context io;
  Mailbox<std::string> box(io.get_executor());
  box.push("later");
  box.push_front("rest of a batch", 3);
  std::string first, second;
  auto take_two = [&]() -> asio::awaitable<void> {
    first = co_await box.pop();
    second = co_await box.pop();
  };
  asio::co_spawn(io, take_two(), asio::detached);
  io.run();
  EXPECT_EQ(first, "rest of a batch");
  EXPECT_EQ(second, "later");
}

}  // namespace
}  // namespace avenor::host
