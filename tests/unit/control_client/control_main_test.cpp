#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <sstream>
#include <thread>

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

TEST_F(ControlClientMain, UsageErrorsExit1WithOneLineAndAHint) {
  const std::string hint = "run 'avenor control --help' for usage\n";
  EXPECT_EQ(run({}), 1);
  EXPECT_EQ(err_.str(), "avenor control: --socket is required\n" + hint);
  EXPECT_EQ(out_.str(), "");

  EXPECT_EQ(run({"--socket", socket_path()}), 1);
  EXPECT_EQ(err_.str(), "avenor control: missing command\n" + hint);

  EXPECT_EQ(run({"-socket=" + socket_path(), "bogus"}), 1);
  EXPECT_EQ(err_.str(), "avenor control: unknown command \"bogus\"\n" + hint);

  EXPECT_EQ(run({"--socket", socket_path(), "--verbose", "status"}), 1);
  EXPECT_EQ(err_.str(), "avenor control: flag provided but not defined: -verbose\n" + hint);

  // After the command only the connection flags are flags: --verbose is an argument.
  EXPECT_EQ(run({"--socket", socket_path(), "status", "--verbose", "x"}), 1);
  EXPECT_EQ(err_.str(),
            "avenor control: status: too many arguments (usage: status [runtime-id])\n" + hint);

  EXPECT_EQ(run({"--socket", socket_path(), "prompt"}), 1);
  EXPECT_EQ(err_.str(), "avenor control: prompt: missing <text>\n" + hint);
  EXPECT_FALSE(printed_usage());

  EXPECT_EQ(run({"--socket", socket_path(), "spawn", "--prompt", "p", "--bogus"}), 1);
  EXPECT_EQ(err_.str(),
            "avenor control: spawn: flag provided but not defined: -bogus\n"
            "run 'avenor control spawn --help' for usage\n");

  EXPECT_EQ(run({"--socket", socket_path(), "--wait-socket", "5", "status"}), 1);
  EXPECT_EQ(err_.str(),
            "avenor control: invalid value \"5\" for flag -wait-socket: missing unit in duration "
            "(use e.g. 5s, 10m, 1h30m)\n" +
                hint);
}

TEST_F(ControlClientMain, HelpGoesToStdoutWithExit0) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"-h"}, {"--help"}, {"status", "--help"}, {"--socket", "S", "prompt", "-h"}}) {
    EXPECT_EQ(run(args), 0) << args.front();
    EXPECT_EQ(err_.str(), "");
    EXPECT_EQ(out_.str().rfind("Usage: avenor control", 0), 0u) << out_.str();
    EXPECT_NE(out_.str().find("-socket path"), std::string::npos) << out_.str();
    EXPECT_NE(out_.str().find("-wait-socket duration"), std::string::npos) << out_.str();
  }
  EXPECT_EQ(run({"spawn", "--help"}), 0);
  EXPECT_EQ(out_.str().rfind("Usage: avenor control --socket <path> spawn [flags]\n", 0), 0u);
  EXPECT_NE(out_.str().find("-socket path"), std::string::npos) << out_.str();
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

TEST_F(ControlClientMain, FlagsMayFollowTheCommandAndDoubleDashEndsThem) {
  test::FakeControlServer server(socket_path(), [](Connection& c, const bj::object& request) {
    c.reply(request, bj::object{{"ok", true}});
  });
  // D13: the connection flags after the command word, for spawn too.
  EXPECT_EQ(run({"status", "--socket", socket_path()}), 0) << err_.str();
  EXPECT_EQ(run({"prompt", "--socket=" + socket_path(), "--", "--socket", "rt_1"}), 0)
      << err_.str();
  EXPECT_EQ(run({"--socket", socket_path(), "prompt", "--not-a-flag", "rt_2"}), 0) << err_.str();
  EXPECT_EQ(run({"spawn", "--prompt", "p", "--socket", socket_path()}), 0) << err_.str();
  const std::vector<bj::object> requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].at("method"), "status");
  EXPECT_EQ(requests[1].at("params"), (bj::object{{"text", "--socket"}, {"runtime_id", "rt_1"}}));
  EXPECT_EQ(requests[2].at("params"),
            (bj::object{{"text", "--not-a-flag"}, {"runtime_id", "rt_2"}}));
  EXPECT_EQ(requests[3].at("params"), (bj::object{{"prompt", "p"}}));
}

TEST_F(ControlClientMain, WaitSocketGivesUpWithAClearMessage) {
  const std::string missing = (dir_ / "never.sock").string();
  EXPECT_EQ(run({"--socket", missing, "--wait-socket", "100ms", "status"}), 1);
  EXPECT_EQ(err_.str(), "avenor control: socket " + missing + " did not accept within 100ms\n");
  // Without --wait-socket the dial error is reported at once, as before.
  EXPECT_EQ(run({"--socket", missing, "status"}), 1);
  EXPECT_EQ(err_.str(), "avenor control: status: dial unix " + missing +
                            ": connect: no such file or directory\n");
}

TEST_F(ControlClientMain, WaitSocketDialsOnceTheServerIsUp) {
  std::optional<test::FakeControlServer> server;
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server starting late
    server.emplace(socket_path(), [](Connection& c, const bj::object& request) {
      c.reply(request, bj::object{{"ok", true}});
    });
  });
  const int code = run({"--socket", socket_path(), "--wait-socket", "10s", "status"});
  late.join();
  EXPECT_EQ(code, 0) << err_.str();
  EXPECT_EQ(out_.str(), "{\n  \"ok\": true\n}\n");
}

TEST_F(ControlClientMain, RuntimeIdOnARunSocketSaysWhatToDo) {
  test::FakeControlServer server(socket_path(), [](Connection& c, const bj::object& request) {
    c.reply_error(request, -32601, "method not found");
  });
  EXPECT_EQ(run({"--socket", socket_path(), "status", "rt_1"}), 1);
  EXPECT_EQ(err_.str(), "avenor control: status: runtime ids need a stable supervisor socket; " +
                            socket_path() + " is a run's socket (omit the runtime id)\n");
  // Without a runtime id the server's error is passed through.
  EXPECT_EQ(run({"--socket", socket_path(), "list"}), 1);
  EXPECT_EQ(err_.str(), "avenor control: list: rpc error [-32601]: method not found\n");
}

}  // namespace
}  // namespace avenor::host
