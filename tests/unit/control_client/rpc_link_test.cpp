#include "control_client/rpc_link.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "../control_client/fake_control_server.hpp"
#include "../host/test_support.hpp"
#include "control/control_connection.hpp"
#include "control/control_server.hpp"
#include "control/rpc_error.hpp"
#include "util/json_text.hpp"

namespace avenor::host {
namespace {

namespace asio = boost::asio;
using boost::json::object;
using boost::json::value;
using test::run_until;
using test::TempDir;
using namespace std::chrono_literals;

// What one call() ended with.
struct CallSeen {
  bool done = false;
  value result;
  std::optional<LinkCallError> call_error;
  std::optional<LinkClosedError> closed_error;
};

std::string event_frame(const object& params) {
  return to_compact_json(object{{"jsonrpc", "2.0"}, {"method", "event"}, {"params", params}});
}

// Methods for the real control server: echo, fail, and methods that hold
// their response until the test opens `gate`.
class TestMethods : public ControlMethods {
 public:
  explicit TestMethods(asio::io_context& io) : gate(io) {
    gate.expires_at(asio::steady_timer::time_point::max());
  }

  asio::awaitable<value> call(CallContext& ctx, const std::string& method,
                              const object& params) override {
    if (method == "echo") co_return params;
    if (method == "fail")
      throw RpcError(rpc_code::handler_error, "boom", object{{"detail", "why"}});
    if (method == "events_then_wait") {
      // Notifications written while the call is still outstanding.
      for (int i = 1; i <= 3; ++i)
        ctx.connection().send(event_frame(object{{"event", "test"}, {"seq", i}}));
      co_await wait_gate();
      co_return object{{"ok", true}};
    }
    if (method == "wait") {
      co_await wait_gate();
      co_return value("late");
    }
    throw RpcError::method_not_found();
  }

  asio::awaitable<void> wait_gate() {
    boost::system::error_code ec;
    co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::steady_timer gate;
};

class RpcLinkTest : public ::testing::Test {
 protected:
  // Connects to `path` on the loop; fails the test on error.
  std::shared_ptr<RpcLink> dial(const std::string& path) {
    std::shared_ptr<RpcLink> link;
    std::string failure;
    bool done = false;
    asio::co_spawn(io, RpcLink::connect(io.get_executor(), path, 2s),
                   [&](std::exception_ptr e, std::shared_ptr<RpcLink> l) {
                     done = true;
                     link = std::move(l);
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         failure = x.what();
                       }
                     }
                   });
    EXPECT_TRUE(run_until(io, [&] { return done; })) << "connect did not complete";
    EXPECT_EQ(failure, "");
    return link;
  }

  // Starts a call and returns what it will have ended with.
  std::shared_ptr<CallSeen> start_call(const std::shared_ptr<RpcLink>& link, std::string method,
                                       object params = {},
                                       std::chrono::milliseconds timeout = 10s) {
    auto seen = std::make_shared<CallSeen>();
    asio::co_spawn(
        io,
        [link, method, params, timeout, seen]() -> asio::awaitable<void> {
          try {
            seen->result = co_await link->call(method, params, timeout);
          } catch (const LinkCallError& e) {
            seen->call_error = e;
          } catch (const LinkClosedError& e) {
            seen->closed_error = e;
          }
          seen->done = true;
        },
        asio::detached);
    return seen;
  }

  std::shared_ptr<CallSeen> finish_call(const std::shared_ptr<RpcLink>& link,
                                        std::string method, object params = {}) {
    auto seen = start_call(link, std::move(method), std::move(params));
    EXPECT_TRUE(run_until(io, [&] { return seen->done; })) << "call did not complete";
    return seen;
  }

  asio::io_context io;
  TempDir tmp;
  std::string path = (tmp / "ctl.sock").string();
};

// The same fixture with a real ControlServer on `path`.
class RpcLinkServerTest : public RpcLinkTest {
 protected:
  void SetUp() override { server.start(); }
  TestMethods methods{io};
  ControlServer server{io, path, methods};
};

TEST_F(RpcLinkServerTest, CallReturnsResult) {
  auto link = dial(path);
  ASSERT_TRUE(link);
  auto seen = finish_call(link, "echo", object{{"a", 1}, {"b", "two"}});
  EXPECT_FALSE(seen->call_error);
  EXPECT_FALSE(seen->closed_error);
  EXPECT_EQ(seen->result, (value(object{{"a", 1}, {"b", "two"}})));
  EXPECT_FALSE(link->closed());
  link->close();
}

TEST_F(RpcLinkServerTest, ErrorObjectBecomesLinkCallError) {
  auto link = dial(path);
  ASSERT_TRUE(link);
  auto seen = finish_call(link, "fail");
  ASSERT_TRUE(seen->call_error);
  EXPECT_EQ(seen->call_error->code(), rpc_code::handler_error);
  EXPECT_STREQ(seen->call_error->what(), "boom");
  EXPECT_EQ(seen->call_error->data(), (value(object{{"detail", "why"}})));

  auto unknown = finish_call(link, "nope");
  ASSERT_TRUE(unknown->call_error);
  EXPECT_EQ(unknown->call_error->code(), rpc_code::method_not_found);
  EXPECT_TRUE(unknown->call_error->data().is_null());
  EXPECT_FALSE(link->closed()) << "an error answer must not end the link";
  link->close();
}

TEST_F(RpcLinkServerTest, ManyConcurrentCallsEachGetTheirOwnResult) {
  auto link = dial(path);
  ASSERT_TRUE(link);
  std::vector<std::shared_ptr<CallSeen>> calls;
  for (int i = 0; i < 20; ++i) calls.push_back(start_call(link, "echo", object{{"i", i}}));
  ASSERT_TRUE(run_until(io, [&] {
    return std::all_of(calls.begin(), calls.end(), [](const auto& c) { return c->done; });
  }));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(calls[i]->result, (value(object{{"i", i}}))) << i;
  link->close();
}

TEST_F(RpcLinkServerTest, EventsArriveInOrderWhileACallIsOutstanding) {
  auto link = dial(path);
  ASSERT_TRUE(link);
  std::vector<std::int64_t> seqs;
  link->on_event([&](object params) { seqs.push_back(params.at("seq").as_int64()); });
  auto seen = start_call(link, "events_then_wait");
  ASSERT_TRUE(run_until(io, [&] { return seqs.size() == 3; }))
      << "events were not delivered while the call was outstanding";
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_FALSE(seen->done);
  methods.gate.cancel();
  ASSERT_TRUE(run_until(io, [&] { return seen->done; }));
  EXPECT_EQ(seen->result, (value(object{{"ok", true}})));
  link->close();
}

TEST_F(RpcLinkServerTest, ServerClosingMidCallFailsTheCallAndReportsClosedOnce) {
  auto link = dial(path);
  ASSERT_TRUE(link);
  int closed = 0;
  link->on_closed([&] { ++closed; });
  auto seen = start_call(link, "wait");
  run_until(io, [&] { return server.connection_count() == 1; });
  server.stop(0ms);
  ASSERT_TRUE(run_until(io, [&] { return seen->done && closed > 0; }))
      << "the pending call or on_closed did not see the server go away";
  ASSERT_TRUE(seen->closed_error);
  EXPECT_TRUE(link->closed());
  EXPECT_EQ(closed, 1);

  auto after = finish_call(link, "echo");
  EXPECT_TRUE(after->closed_error) << "a call on a closed link must fail";
  link->close();  // idempotent, no second on_closed
  test::run_for(io, 20ms);
  EXPECT_EQ(closed, 1);
}

TEST_F(RpcLinkServerTest, TimeoutFailsOnlyThatCall) {
  auto link = dial(path);
  ASSERT_TRUE(link);
  auto seen = start_call(link, "wait", {}, 50ms);
  ASSERT_TRUE(run_until(io, [&] { return seen->done; }));
  ASSERT_TRUE(seen->closed_error);
  EXPECT_STREQ(seen->closed_error->what(), "timeout after 50ms");
  EXPECT_FALSE(link->closed());
  // The late answer to the timed-out call is dropped; the next call works.
  methods.gate.cancel();
  auto next = finish_call(link, "echo", object{{"x", 1}});
  EXPECT_EQ(next->result, (value(object{{"x", 1}})));
  link->close();
}

TEST_F(RpcLinkServerTest, ClosingFromAnEventHandlerIsSafe) {
  auto link = dial(path);
  ASSERT_TRUE(link);
  int events = 0;
  int closed = 0;
  link->on_closed([&] { ++closed; });
  link->on_event([&](object) {
    ++events;
    link->close();
    link.reset();  // the test drops its only reference inside the callback
  });
  auto seen = start_call(link, "events_then_wait");
  ASSERT_TRUE(run_until(io, [&] { return seen->done && closed == 1; }));
  EXPECT_EQ(events, 1) << "no event may be delivered after close()";
  EXPECT_TRUE(seen->closed_error);
  EXPECT_FALSE(link);
}

TEST_F(RpcLinkServerTest, OnClosedRegisteredAfterTheEndStillFires) {
  auto link = dial(path);
  ASSERT_TRUE(link);
  link->close();
  EXPECT_TRUE(link->closed());
  test::run_for(io, 20ms);
  int closed = 0;
  link->on_closed([&] { ++closed; });
  ASSERT_TRUE(run_until(io, [&] { return closed == 1; }));
}

TEST_F(RpcLinkTest, DialFailureNamesThePath) {
  std::string failure;
  bool done = false;
  asio::co_spawn(io, RpcLink::connect(io.get_executor(), path, 1s),
                 [&](std::exception_ptr e, std::shared_ptr<RpcLink>) {
                   done = true;
                   try {
                     if (e) std::rethrow_exception(e);
                   } catch (const LinkClosedError& x) {
                     failure = x.what();
                   }
                 });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_EQ(failure, "dial " + path + ": No such file or directory");
}

TEST_F(RpcLinkTest, ResponsesAreMatchedById) {
  // The second request is answered first.
  std::optional<object> held;
  test::FakeControlServer fake(path,
                               [&](test::FakeControlServer::Connection& c, const object& req) {
                                 if (!held) {
                                   held = req;
                                   return;
                                 }
                                 c.reply(req, value("second"));
                                 c.reply(*held, value("first"));
                               });
  auto link = dial(path);
  ASSERT_TRUE(link);
  auto first = start_call(link, "a");
  auto second = start_call(link, "b");
  ASSERT_TRUE(run_until(io, [&] { return first->done && second->done; }));
  EXPECT_EQ(first->result, value("first"));
  EXPECT_EQ(second->result, value("second"));
  link->close();
}

TEST_F(RpcLinkTest, EventsInterleavedWithResponsesKeepArrivalOrder) {
  test::FakeControlServer fake(path, [](test::FakeControlServer::Connection& c, const object& req) {
    c.event(object{{"n", 1}});
    c.reply(req, value(true));
    c.event(object{{"n", 2}});
    c.send(object{{"jsonrpc", "2.0"}, {"method", "other"}, {"params", object{{"n", 99}}}});
    c.event(object{{"n", 3}});
  });
  auto link = dial(path);
  ASSERT_TRUE(link);
  std::vector<std::int64_t> ns;
  link->on_event([&](object p) { ns.push_back(p.at("n").as_int64()); });
  auto seen = start_call(link, "x");
  ASSERT_TRUE(run_until(io, [&] { return seen->done && ns.size() == 3; }));
  EXPECT_EQ(ns, (std::vector<std::int64_t>{1, 2, 3})) << "only `event` notifications are events";
  link->close();
}

TEST_F(RpcLinkTest, OversizeLineClosesTheLink) {
  test::FakeControlServer fake(path, [](test::FakeControlServer::Connection& c, const object&) {
    c.send_raw(std::string(RpcLink::kMaxLine + 1, 'x'));
  });
  auto link = dial(path);
  ASSERT_TRUE(link);
  int closed = 0;
  link->on_closed([&] { ++closed; });
  auto seen = start_call(link, "x", {}, 0ms);
  ASSERT_TRUE(run_until(
      io, [&] { return seen->done && closed == 1; }, 30s))
      << "an oversize line did not close the link";
  ASSERT_TRUE(seen->closed_error);
  EXPECT_NE(std::string(seen->closed_error->what()).find("line exceeds"), std::string::npos)
      << seen->closed_error->what();
}

TEST_F(RpcLinkTest, MalformedFrameClosesTheLink) {
  test::FakeControlServer fake(path, [](test::FakeControlServer::Connection& c, const object&) {
    c.send_raw("{not json\n");
  });
  auto link = dial(path);
  ASSERT_TRUE(link);
  auto seen = finish_call(link, "x");
  ASSERT_TRUE(seen->closed_error);
  EXPECT_NE(std::string(seen->closed_error->what()).find("malformed frame"), std::string::npos);
  EXPECT_TRUE(link->closed());
}

}  // namespace
}  // namespace avenor::host
