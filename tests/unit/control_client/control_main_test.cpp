#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "../host/test_support.hpp"
#include "commands/control_command.hpp"
#include "fake_control_server.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;
using Connection = test::FakeControlServer::Connection;

class ControlClientMain : public ::testing::Test {
 protected:
  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return control_main(args, out_, err_);
  }
  std::string socket_path() const { return (dir_ / "c.sock").string(); }
  bool printed_usage() const {
    return err_.str().find("Usage: avenor control --socket <path> <command> [args]") !=
           std::string::npos;
  }

  test::TempDir dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ControlClientMain, UsageErrorsExit1WithUsageOnStderr) {
  EXPECT_EQ(run({}), 1);
  EXPECT_EQ(err_.str().rfind("avenor control: --socket is required\n", 0), 0u) << err_.str();
  EXPECT_TRUE(printed_usage());
  EXPECT_EQ(out_.str(), "");

  EXPECT_EQ(run({"--socket", socket_path()}), 1);
  EXPECT_EQ(err_.str().rfind("avenor control: missing command\n", 0), 0u) << err_.str();
  EXPECT_TRUE(printed_usage());

  EXPECT_EQ(run({"-socket=" + socket_path(), "bogus"}), 1);
  EXPECT_EQ(err_.str().rfind("avenor control: unknown command \"bogus\"\n", 0), 0u);
  EXPECT_TRUE(printed_usage());

  EXPECT_EQ(run({"--socket", socket_path(), "--verbose", "status"}), 1);
  EXPECT_EQ(err_.str().rfind("flag provided but not defined: -verbose\n", 0), 0u);
  EXPECT_TRUE(printed_usage());

  EXPECT_EQ(run({"-h"}), 1);
  EXPECT_EQ(err_.str().rfind("Usage: avenor control", 0), 0u);
  EXPECT_NE(err_.str().find("-socket path"), std::string::npos) << err_.str();

  // Go flag parsing stops at the command word, so a later --socket is an argument.
  EXPECT_EQ(run({"status", "--socket", socket_path()}), 1);
  EXPECT_EQ(err_.str().rfind("avenor control: --socket is required\n", 0), 0u);

  EXPECT_EQ(run({"--socket", socket_path(), "prompt"}), 1);
  EXPECT_EQ(err_.str().rfind("avenor control: prompt: missing <text>\n", 0), 0u);
  EXPECT_TRUE(printed_usage());
}

TEST_F(ControlClientMain, UsageErrorsNeverDial) {
  // No server at the path: a usage error must win over the dial error.
  EXPECT_EQ(run({"--socket", socket_path(), "spawn", "--thinking", "huge", "--prompt", "p"}), 1);
  EXPECT_EQ(err_.str().rfind("avenor control: spawn: invalid --thinking \"huge\"\n", 0), 0u)
      << err_.str();
}

TEST_F(ControlClientMain, PrintsIndentedJsonAndSuccessWords) {
  test::FakeControlServer server(socket_path(), [](Connection& c, const bj::object& request) {
    const auto& method = request.at("method").as_string();
    if (method == "status")
      c.reply(request, bj::object{{"run_id", "r"}, {"latest_seq", 3}});
    else if (method == "list")
      c.reply(request, bj::array{});
    else
      c.reply(request, bj::object{{"ok", true}});
  });
  EXPECT_EQ(run({"--socket", socket_path(), "status"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "{\n  \"run_id\": \"r\",\n  \"latest_seq\": 3\n}\n");
  EXPECT_EQ(err_.str(), "");
  EXPECT_EQ(run({"--socket", socket_path(), "list"}), 0);
  EXPECT_EQ(out_.str(), "[]\n");

  const std::vector<std::pair<std::vector<std::string>, std::string>> words{
      {{"cancel"}, "cancelled\n"},
      {{"prompt", "x"}, "prompt queued\n"},
      {{"interrupt-and-prompt", "x"}, "interrupt queued\n"},
      {{"answer-permission", "1", "once"}, "permission answered\n"},
      {{"shutdown"}, "shutting down\n"}};
  for (const auto& [command, expected] : words) {
    std::vector<std::string> args{"--socket", socket_path()};
    args.insert(args.end(), command.begin(), command.end());
    EXPECT_EQ(run(args), 0) << command[0] << ": " << err_.str();
    EXPECT_EQ(out_.str(), expected);
  }
}

TEST_F(ControlClientMain, RpcAndTransportErrorsExit1) {
  test::FakeControlServer server(socket_path(), [](Connection& c, const bj::object& request) {
    if (request.at("method") == "cancel")
      c.reply_error(request, -32010, "permission_denied");
    else
      c.close();
  });
  EXPECT_EQ(run({"--socket", socket_path(), "cancel"}), 1);
  EXPECT_EQ(err_.str(), "avenor control: cancel: rpc error [-32010]: permission_denied\n");
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(run({"--socket", socket_path(), "status"}), 1);
  EXPECT_EQ(err_.str(), "avenor control: status: connection closed before the response arrived\n");

  EXPECT_EQ(run({"--socket", (dir_ / "none.sock").string(), "list"}), 1);
  EXPECT_EQ(err_.str(), "avenor control: list: dial unix " + (dir_ / "none.sock").string() +
                            ": connect: no such file or directory\n");
}

TEST_F(ControlClientMain, TailPrintsEventParamsUntilTheSocketCloses) {
  test::FakeControlServer server(socket_path(), [](Connection& c, const bj::object& request) {
    c.reply(request, bj::object{{"subscribed", true}});
    for (int i = 1; i <= 5; ++i) c.event({{"event", "agent.message_chunk"}, {"seq", i}});
    c.close();
  });
  EXPECT_EQ(run({"--socket", socket_path(), "tail"}), 0) << err_.str();
  std::string expected;
  for (int i = 1; i <= 5; ++i)
    expected += R"({"event":"agent.message_chunk","seq":)" + std::to_string(i) + "}\n";
  EXPECT_EQ(out_.str(), expected);
  EXPECT_EQ(server.requests().at(0),
            (bj::object{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "subscribe"}}));
}

}  // namespace
}  // namespace avenor::host
