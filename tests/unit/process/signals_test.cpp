// block_termination_signals holds SIGTERM back until the unblock, which
// delivers it to the handler installed in between.
#include "process/signals.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>

#include "../host/test_support.hpp"

namespace avenor::host {
namespace {

bool term_blocked() {
  sigset_t now;
  sigemptyset(&now);
  ::pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, SIGTERM) == 1;
}

TEST(TerminationSignals, AnEarlySignalWaitsForTheHandler) {
  boost::asio::io_context io;
  block_termination_signals();
  EXPECT_TRUE(term_blocked());
  // Arrives before any handler exists: the default action would end the test.
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  boost::asio::signal_set signals(io, SIGTERM);
  int caught = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) caught = sig;
  });
  unblock_termination_signals();
  EXPECT_FALSE(term_blocked());
  EXPECT_TRUE(test::run_until(
      io, [&] { return caught != 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(caught, SIGTERM);
}

}  // namespace
}  // namespace avenor::host
