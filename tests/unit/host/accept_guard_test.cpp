// AcceptGuard: the connection cap answers and closes; an accept error
// sheds the queued connections with an answer and backs off 50 ms → 1 s.
#include "util/accept_guard.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <string>

#include "test_support.hpp"
#include "util/unique_fd.hpp"

namespace avenor::host {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::string refusal(const std::string& reason) { return "no: " + reason + "\n"; }

// Everything the peer of `fd` sends until EOF (bounded by 5 s).
std::string read_to_eof(int fd) {
  std::string out;
  std::array<char, 256> buf{};
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return out + "<timeout>";
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) return out;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
}

TEST(AcceptGuard, AdmitsBelowTheCapAndRefusesAtIt) {
  asio::io_context io;
  AcceptGuard guard(io.get_executor(), "test", 2, &refusal);
  std::array<int, 2> pair{};
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair.data()), 0);
  UniqueFd server(pair[0]);
  UniqueFd client(pair[1]);
  EXPECT_TRUE(guard.admit(server.get(), 1));
  EXPECT_FALSE(guard.admit(server.get(), 2));
  server.reset();  // the caller drops a refused socket
  EXPECT_EQ(read_to_eof(client.get()), "no: too many connections (max 2)\n");
}

TEST(AcceptGuard, AnAcceptErrorShedsTheQueueAndBacksOff) {
  asio::io_context io;
  test::TempDir dir;
  const auto path = dir / "l.sock";
  asio::local::stream_protocol::acceptor acceptor(
      io, asio::local::stream_protocol::endpoint(path.string()));
  AcceptGuard guard(io.get_executor(), "test", 8, &refusal);

  // Two clients wait in the queue, as they would while avenor has no fds.
  std::array<asio::local::stream_protocol::socket, 2> clients{
      asio::local::stream_protocol::socket(io), asio::local::stream_protocol::socket(io)};
  for (auto& c : clients) c.connect(asio::local::stream_protocol::endpoint(path.string()));

  auto pause = [&](Clock::duration& took) {
    bool done = false;
    const auto start = Clock::now();
    asio::co_spawn(io, guard.pause_after(asio::error::no_descriptors, acceptor.native_handle()),
                   [&](std::exception_ptr) {
                     took = Clock::now() - start;
                     done = true;
                   });
    ASSERT_TRUE(test::run_until(
        io, [&] { return done; }, 5s))
        << "the pause never ended";
  };
  Clock::duration first{};
  pause(first);
  for (auto& c : clients)
    EXPECT_EQ(read_to_eof(c.native_handle()), "no: too many open files\n")
        << "a queued client must be answered and closed, not left hanging";
  EXPECT_EQ(guard.backoff(), AcceptGuard::kFirstPause);
  EXPECT_GE(first, AcceptGuard::kFirstPause - 5ms);

  Clock::duration second{};
  pause(second);
  EXPECT_EQ(guard.backoff(), 2 * AcceptGuard::kFirstPause) << "repeated errors back off further";
  EXPECT_GE(second, 2 * AcceptGuard::kFirstPause - 5ms);

  // A successful accept starts the backoff over.
  std::array<int, 2> pair{};
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair.data()), 0);
  UniqueFd a(pair[0]);
  UniqueFd b(pair[1]);
  EXPECT_TRUE(guard.admit(a.get(), 0));
  EXPECT_EQ(guard.backoff(), 0ms);
  Clock::duration third{};
  pause(third);
  EXPECT_EQ(guard.backoff(), AcceptGuard::kFirstPause);
}

TEST(AcceptGuard, BackoffIsCappedAndCancelEndsAPauseAtOnce) {
  asio::io_context io;
  AcceptGuard guard(io.get_executor(), "test", 8, nullptr);
  // Not an fd error: no shedding, only the pause. Each pause is cancelled
  // at once, so the escalation costs no time.
  std::chrono::milliseconds expected = AcceptGuard::kFirstPause;
  for (int i = 0; i < 8; ++i) {
    bool done = false;
    const auto start = Clock::now();
    asio::co_spawn(io, guard.pause_after(asio::error::connection_aborted, -1),
                   [&](std::exception_ptr) { done = true; });
    io.restart();
    io.poll();  // the coroutine runs up to its wait
    EXPECT_EQ(guard.backoff(), expected);
    guard.cancel();
    ASSERT_TRUE(test::run_until(
        io, [&] { return done; }, 5s));
    // Timed only where a busy machine cannot blur it.
    if (expected >= 400ms) {
      EXPECT_LT(Clock::now() - start, expected) << "cancel() must end the pause early";
    }
    expected = std::min(expected * 2, AcceptGuard::kMaxPause);
  }
  EXPECT_EQ(guard.backoff(), AcceptGuard::kMaxPause);
}

TEST(AcceptGuard, HttpRefusalIsAComplete503) {
  const std::string text = http_refusal("too many connections (max 32)");
  EXPECT_EQ(text.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u);
  EXPECT_NE(text.find("Content-Length: 30\r\n"), std::string::npos);
  EXPECT_NE(text.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(text.ends_with("\r\n\r\ntoo many connections (max 32)\n"));
}

}  // namespace
}  // namespace avenor::host
