#include "control_client/rpc_client.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>

#include "../host/test_support.hpp"
#include "fake_control_server.hpp"

namespace avenor::host::control_client {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using Connection = test::FakeControlServer::Connection;

class ControlClientRpc : public ::testing::Test {
 protected:
  std::string socket_path() const { return (dir_ / "c.sock").string(); }
  test::TempDir dir_;
};

TEST_F(ControlClientRpc, CallSendsAnIdentifiedRequestAndReturnsTheResult) {
  test::FakeControlServer server(socket_path(), [](Connection& c, const bj::object& request) {
    c.reply(request, bj::object{{"echo", request.at("method")}});
  });
  RpcClient client(server.path());
  EXPECT_EQ(client.call("status", std::nullopt), (bj::object{{"echo", "status"}}));
  EXPECT_EQ(client.call("prompt", bj::object{{"text", "x"}}), (bj::object{{"echo", "prompt"}}));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0], (bj::object{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "status"}}));
  EXPECT_EQ(requests[1],
            (bj::object{
                {"jsonrpc", "2.0"}, {"id", 2}, {"method", "prompt"}, {"params", {{"text", "x"}}}}));
}

TEST_F(ControlClientRpc, EventsBeforeTheResponseAreKeptAndStaleResponsesSkipped) {
  test::FakeControlServer server(socket_path(), [](Connection& c, const bj::object& request) {
    c.event({{"event", "a"}, {"seq", 1}});
    c.send(bj::object{{"jsonrpc", "2.0"}, {"id", 99}, {"result", "stale"}});
    c.send(bj::object{{"jsonrpc", "2.0"}, {"method", "other"}, {"params", {{"x", 1}}}});
    c.event({{"event", "b"}, {"seq", 2}});
    c.reply(request, bj::object{{"subscribed", true}});
    c.event({{"event", "c"}, {"seq", 3}});
    c.close();
  });
  RpcClient client(server.path());
  EXPECT_EQ(client.call("subscribe", std::nullopt), (bj::object{{"subscribed", true}}));
  std::vector<std::string> names;
  while (auto event = client.next_event()) names.emplace_back(event->at("event").as_string());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(client.next_event());  // stays closed
}

TEST_F(ControlClientRpc, ErrorResponsesCarryCodeMessageAndData) {
  test::FakeControlServer server(socket_path(), [](Connection& c, const bj::object& request) {
    c.send(bj::object{{"jsonrpc", "2.0"},
                      {"id", request.at("id")},
                      {"error",
                       {{"code", -32602},
                        {"message", "invalid params"},
                        {"data", {{"required", bj::array{"text"}}}}}}});
  });
  RpcClient client(server.path());
  try {
    client.call("prompt", bj::object{{"text", ""}});
    FAIL() << "expected CallError";
  } catch (const CallError& e) {
    EXPECT_EQ(e.code(), -32602);
    EXPECT_STREQ(e.what(), "invalid params");
    EXPECT_EQ(e.data(), (bj::object{{"required", bj::array{"text"}}}));
  }
}

TEST_F(ControlClientRpc, NullIdParseErrorAnswersTheCall) {
  test::FakeControlServer server(socket_path(), [](Connection& c, const bj::object&) {
    c.send(bj::object{{"jsonrpc", "2.0"},
                      {"id", nullptr},
                      {"error", {{"code", -32700}, {"message", "parse error"}}}});
  });
  RpcClient client(server.path());
  try {
    client.call("status", std::nullopt);
    FAIL() << "expected CallError";
  } catch (const CallError& e) {
    EXPECT_EQ(e.code(), -32700);
  }
}

TEST_F(ControlClientRpc, CloseBeforeTheResponseIsATransportError) {
  test::FakeControlServer server(socket_path(),
                                 [](Connection& c, const bj::object&) { c.close(); });
  RpcClient client(server.path());
  try {
    client.call("status", std::nullopt);
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_STREQ(e.what(), "connection closed before the response arrived");
  }
}

TEST_F(ControlClientRpc, UnansweredCallTimesOut) {
  test::FakeControlServer server(socket_path(), [](Connection&, const bj::object&) {});
  RpcClient client(server.path());
  const auto start = std::chrono::steady_clock::now();
  try {
    client.call("status", std::nullopt, 200ms);
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_STREQ(e.what(), "timeout after 200ms waiting for the response");
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  // The connection is gone after a timeout.
  EXPECT_THROW(client.call("status", std::nullopt, 200ms), TransportError);
}

TEST_F(ControlClientRpc, GarbageFromTheServerIsATransportError) {
  test::FakeControlServer server(socket_path(),
                                 [](Connection& c, const bj::object&) { c.send_raw("nope\n"); });
  RpcClient client(server.path());
  try {
    client.call("status", std::nullopt);
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("invalid frame from server: ", 0), 0u) << e.what();
  }
}

TEST_F(ControlClientRpc, DialErrors) {
  try {
    RpcClient client(socket_path());
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_EQ(std::string(e.what()),
              "dial unix " + socket_path() + ": connect: no such file or directory");
  }
  const std::string too_long = "/tmp/" + std::string(200, 'x');
  EXPECT_THROW(RpcClient client(too_long), TransportError);
}

TEST_F(ControlClientRpc, CloseFromAnotherThreadEndsABlockedNextEvent) {
  test::FakeControlServer server(socket_path(), [](Connection& c, const bj::object& request) {
    c.reply(request, bj::object{{"subscribed", true}});  // then stays silent
  });
  RpcClient client(server.path());
  client.call("subscribe", std::nullopt);
  std::optional<bj::object> event{bj::object{}};
  std::thread reader([&] { event = client.next_event(); });
  client.close_from_any_thread();
  reader.join();
  EXPECT_FALSE(event);
}

}  // namespace
}  // namespace avenor::host::control_client
