#include <gtest/gtest.h>

#include <avenor/sdk/jsonrpc_peer.hpp>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace bj = boost::json;
using avenor::sdk::JsonRpcOptions;
using avenor::sdk::JsonRpcPeer;
using avenor::sdk::RpcOutcome;
namespace rpc_code = avenor::sdk::rpc_code;

class JsonRpcPeerTest : public ::testing::Test {
 protected:
  explicit JsonRpcPeerTest(JsonRpcOptions options = {})
      : peer([this](std::string_view bytes) { out.append(bytes); }, options) {}

  // Lines written since the last call.
  std::vector<std::string> lines() {
    std::vector<std::string> result;
    std::size_t start = 0;
    for (std::size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1)
      result.push_back(out.substr(start, nl - start));
    EXPECT_EQ(start, out.size()) << "output not newline-terminated";
    out.clear();
    return result;
  }

  void receive_ok(std::string_view frame) {
    auto error = peer.receive(frame);
    EXPECT_FALSE(error) << *error;
  }

  std::string out;
  JsonRpcPeer peer;
};

TEST_F(JsonRpcPeerTest, RequestsUseIncreasingIntegerIds) {
  EXPECT_EQ(peer.request("initialize", bj::object{{"protocolVersion", 1}}, nullptr), 1);
  EXPECT_EQ(peer.request("ping", nullptr, nullptr), 2);
  EXPECT_EQ(lines(),
            (std::vector<std::string>{
                R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}})",
                R"({"jsonrpc":"2.0","id":2,"method":"ping"})"}));
  EXPECT_EQ(peer.pending(), 2u);
}

TEST_F(JsonRpcPeerTest, NotifyAndRespond) {
  peer.notify("session/cancel", bj::object{{"sessionId", "s"}});
  peer.respond(bj::value(0), bj::object{{"ok", true}});
  peer.respond(bj::value("abc"), nullptr);
  peer.respond_error(bj::value(7), rpc_code::method_not_found, "nope");
  peer.respond_error(bj::value(8), -1, "with data", bj::object{{"x", 1}});
  EXPECT_EQ(
      lines(),
      (std::vector<std::string>{
          R"({"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"s"}})",
          R"({"jsonrpc":"2.0","id":0,"result":{"ok":true}})",
          R"({"jsonrpc":"2.0","id":"abc","result":null})",
          R"({"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"nope"}})",
          R"({"jsonrpc":"2.0","id":8,"error":{"code":-1,"message":"with data","data":{"x":1}}})"}));
}

TEST_F(JsonRpcPeerTest, CorrelatesResponsesOutOfOrder) {
  std::vector<std::string> seen;
  peer.request("a", nullptr, [&](RpcOutcome r) {
    ASSERT_TRUE(r.ok());
    seen.push_back("a:" + bj::serialize(r.result));
  });
  peer.request("b", nullptr, [&](RpcOutcome r) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, -32000);
    EXPECT_EQ(r.error->message, "bad");
    EXPECT_EQ(bj::serialize(r.error->data), R"({"why":"x"})");
    seen.push_back("b:error");
  });
  receive_ok(
      R"({"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"bad","data":{"why":"x"}}})");
  receive_ok(R"({"jsonrpc":"2.0","id":1,"result":{"v":1}})");
  EXPECT_EQ(seen, (std::vector<std::string>{"b:error", R"(a:{"v":1})"}));
  EXPECT_EQ(peer.pending(), 0u);
  // A duplicate response is not an error, just a warning.
  std::vector<std::string> warnings;
  peer.on_warning([&](std::string_view w) { warnings.emplace_back(w); });
  receive_ok(R"({"jsonrpc":"2.0","id":1,"result":{}})");
  receive_ok(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}})");
  EXPECT_EQ(warnings.size(), 2u);
}

TEST_F(JsonRpcPeerTest, NullResultIsSuccess) {
  std::optional<RpcOutcome> got;
  peer.request("x", nullptr, [&](RpcOutcome r) { got = std::move(r); });
  receive_ok(R"({"jsonrpc":"2.0","id":1,"result":null})");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->ok());
  EXPECT_TRUE(got->result.is_null());
}

TEST_F(JsonRpcPeerTest, EchoedIdInOtherSpellingStillMatches) {
  int calls = 0;
  peer.request("x", nullptr, [&](RpcOutcome) { ++calls; });
  peer.request("y", nullptr, [&](RpcOutcome) { ++calls; });
  receive_ok(R"({"jsonrpc":"2.0","id":1.0,"result":{}})");
  receive_ok(R"({"jsonrpc":"2.0","id":"2","result":{}})");
  EXPECT_EQ(calls, 2);
}

TEST_F(JsonRpcPeerTest, IncomingRequestWithIdZeroIsARequest) {
  std::vector<std::string> got;
  peer.on_request("session/request_permission", [&](const bj::value& id, std::string_view method,
                                                    const bj::value& params) {
    got.push_back(bj::serialize(id) + " " + std::string(method) + " " + bj::serialize(params));
    peer.respond(id, bj::object{{"done", true}});
  });
  receive_ok(R"({"jsonrpc":"2.0","id":0,"method":"session/request_permission","params":{"a":1}})");
  receive_ok(R"({"jsonrpc":"2.0","id":"p-1","method":"session/request_permission"})");
  EXPECT_EQ(got, (std::vector<std::string>{R"(0 session/request_permission {"a":1})",
                                           R"("p-1" session/request_permission null)"}));
  EXPECT_EQ(lines(),
            (std::vector<std::string>{R"({"jsonrpc":"2.0","id":0,"result":{"done":true}})",
                                      R"({"jsonrpc":"2.0","id":"p-1","result":{"done":true}})"}));
}

TEST_F(JsonRpcPeerTest, UnhandledRequestsGetMethodNotFound) {
  receive_ok(R"({"jsonrpc":"2.0","id":0,"method":"fs/read_text_file","params":{}})");
  EXPECT_EQ(
      lines(),
      (std::vector<std::string>{
          R"({"jsonrpc":"2.0","id":0,"error":{"code":-32601,"message":"method not found: fs/read_text_file"}})"}));
  std::string fallback;
  peer.on_any_request([&](const bj::value& id, std::string_view method, const bj::value&) {
    fallback = std::string(method);
    peer.respond_error(id, rpc_code::method_not_found, "custom");
  });
  receive_ok(R"({"jsonrpc":"2.0","id":3,"method":"terminal/create"})");
  EXPECT_EQ(fallback, "terminal/create");
  EXPECT_EQ(lines(),
            (std::vector<std::string>{
                R"({"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"custom"}})"}));
}

TEST_F(JsonRpcPeerTest, NotificationsAreRoutedOrDropped) {
  std::vector<std::string> got;
  peer.on_notification("session/update", [&](std::string_view method, const bj::value& params) {
    got.push_back(std::string(method) + " " + bj::serialize(params));
  });
  receive_ok(R"({"jsonrpc":"2.0","method":"session/update","params":{"x":1}})");
  receive_ok(R"({"jsonrpc":"2.0","method":"other/thing","params":{}})");
  EXPECT_EQ(got, (std::vector<std::string>{R"(session/update {"x":1})"}));
  EXPECT_TRUE(lines().empty());  // notifications are never answered
  peer.on_any_notification(
      [&](std::string_view method, const bj::value&) { got.push_back(std::string(method)); });
  receive_ok(R"({"jsonrpc":"2.0","method":"other/thing"})");
  EXPECT_EQ(got.back(), "other/thing");
}

TEST_F(JsonRpcPeerTest, MalformedFramesAreReported) {
  for (std::string_view frame :
       {R"(not json)", R"([1,2])", R"("text")", R"({"id":1,"result":{}})",
        R"({"jsonrpc":"1.0","id":1,"result":{}})", R"({"jsonrpc":"2.0","id":1})",
        R"({"jsonrpc":"2.0"})", R"({"jsonrpc":"2.0","method":5})",
        R"({"jsonrpc":"2.0","id":{"a":1},"method":"x"})"}) {
    EXPECT_TRUE(peer.receive(frame)) << frame;
  }
  EXPECT_TRUE(lines().empty());
}

TEST_F(JsonRpcPeerTest, FailAllFailsPendingInOrder) {
  std::vector<std::string> seen;
  for (std::string name : {"a", "b", "c"}) {
    peer.request(name, nullptr, [&seen, name](RpcOutcome r) {
      if (r.ok()) return seen.push_back(name + ":ok");
      EXPECT_EQ(r.error->code, rpc_code::transport_closed);
      seen.push_back(name + ":" + r.error->message);
    });
  }
  receive_ok(R"({"jsonrpc":"2.0","id":2,"result":{}})");
  EXPECT_EQ(seen, (std::vector<std::string>{"b:ok"}));
  seen.clear();
  peer.fail_all("gone");
  EXPECT_EQ(seen, (std::vector<std::string>{"a:gone", "c:gone"}));
  EXPECT_EQ(peer.pending(), 0u);
  peer.fail_all("again");  // nothing left to fail
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(JsonRpcPeerTest, CallbackMaySendTheNextRequest) {
  std::vector<std::string> order;
  peer.request("first", nullptr, [&](RpcOutcome) {
    order.push_back("first");
    peer.request("second", nullptr, [&](RpcOutcome) { order.push_back("second"); });
  });
  receive_ok(R"({"jsonrpc":"2.0","id":1,"result":{}})");
  receive_ok(R"({"jsonrpc":"2.0","id":2,"result":{}})");
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second"}));
}

class JsonRpcPeerNoVersionTest : public JsonRpcPeerTest {
 protected:
  JsonRpcPeerNoVersionTest() : JsonRpcPeerTest(JsonRpcOptions{.version_field = false}) {}
};

TEST_F(JsonRpcPeerNoVersionTest, OmitsAndDoesNotRequireVersion) {
  bool answered = false;
  peer.request("thread/start", bj::object{}, [&](RpcOutcome r) { answered = r.ok(); });
  peer.notify("initialized");
  EXPECT_EQ(lines(), (std::vector<std::string>{R"({"id":1,"method":"thread/start","params":{}})",
                                               R"({"method":"initialized"})"}));
  receive_ok(R"({"id":1,"result":{"thread":{}}})");
  EXPECT_TRUE(answered);
  receive_ok(R"({"id":0,"method":"item/commandExecution/requestApproval","params":{}})");
  EXPECT_EQ(
      lines(),
      (std::vector<std::string>{
          R"({"id":0,"error":{"code":-32601,"message":"method not found: item/commandExecution/requestApproval"}})"}));
}

class JsonRpcPeerStringIdTest : public JsonRpcPeerTest {
 protected:
  JsonRpcPeerStringIdTest()
      : JsonRpcPeerTest(JsonRpcOptions{
            .version_field = false,
            .string_ids = [](std::int64_t n) { return "1700000000000000000-" + std::to_string(n); },
        }) {}
};

TEST_F(JsonRpcPeerStringIdTest, SendsAndCorrelatesStringIds) {
  std::vector<std::string> order;
  EXPECT_EQ(
      peer.request("initialize", nullptr,
                   [&](RpcOutcome r) {
                     order.push_back("first:" + std::string(r.ok() ? "ok" : r.error->message));
                   }),
      1);
  EXPECT_EQ(
      peer.request("thread/start", nullptr,
                   [&](RpcOutcome r) { order.push_back("second:" + bj::serialize(r.result)); }),
      2);
  EXPECT_EQ(lines(), (std::vector<std::string>{
                         R"({"id":"1700000000000000000-1","method":"initialize"})",
                         R"({"id":"1700000000000000000-2","method":"thread/start"})"}));
  // Answered out of order; a bare sequence number is not one of our ids.
  std::vector<std::string> warnings;
  peer.on_warning([&](std::string_view w) { warnings.emplace_back(w); });
  receive_ok(R"({"id":2,"result":{}})");
  EXPECT_EQ(warnings.size(), 1u);
  receive_ok(R"({"id":"1700000000000000000-2","result":{"x":1}})");
  receive_ok(R"({"id":"1700000000000000000-1","error":{"code":-32600,"message":"bad"}})");
  EXPECT_EQ(order, (std::vector<std::string>{R"(second:{"x":1})", "first:bad"}));
  EXPECT_EQ(peer.pending(), 0u);
  // An id answered twice is unknown the second time.
  receive_ok(R"({"id":"1700000000000000000-1","result":{}})");
  EXPECT_EQ(warnings.size(), 2u);
}

TEST_F(JsonRpcPeerStringIdTest, FailAllForgetsStringIds) {
  std::optional<std::int64_t> code;
  peer.request("turn/start", nullptr, [&](RpcOutcome r) { code = r.error->code; });
  peer.fail_all("closed");
  EXPECT_EQ(code, rpc_code::transport_closed);
  std::vector<std::string> warnings;
  peer.on_warning([&](std::string_view w) { warnings.emplace_back(w); });
  receive_ok(R"({"id":"1700000000000000000-1","result":{}})");
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(RpcIdToString, NumbersAndStrings) {
  EXPECT_EQ(avenor::sdk::rpc_id_to_string(bj::value(0)), "0");
  EXPECT_EQ(avenor::sdk::rpc_id_to_string(bj::value(42)), "42");
  EXPECT_EQ(avenor::sdk::rpc_id_to_string(bj::value("req-1")), "req-1");
}

}  // namespace
