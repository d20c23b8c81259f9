// Host services (ABI 1.1) through the router a plugin instance gets: each
// service run for real on an io_context (processes, loopback HTTP, files).
#include "services/service_router.hpp"

#include <avenor/abi/plugin_abi.h>
#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace avenor::host {
namespace {

namespace json = sdk::json;
using boost::json::object;

struct End {
  std::int32_t status = -1;
  std::string text;
  object result() const { return json::parse(text).as_object(); }
};

class Services : public ::testing::Test {
 protected:
  Services()
      : router_(io_, ServiceRouter::Output{
                         [this](std::uint64_t call, std::string data) {
                           data_[call].push_back(std::move(data));
                         },
                         [this](std::uint64_t call, std::int32_t status, std::string text) {
                           ends_[call] = End{status, std::move(text)};
                         },
                         [this](std::string program) { missing_.push_back(std::move(program)); }}) {
  }

  std::uint64_t start(std::string_view service, const object& request) {
    const std::uint64_t id = next_++;
    router_.start(id, service, json::dump(request));
    return id;
  }
  // Runs the loop until `done` holds; a bounded wait with a clear failure.
  template <class Pred>
  void run_until(Pred done, const char* what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "timed out waiting for " << what;
      io_.run_for(std::chrono::milliseconds(10));
      io_.restart();
    }
  }
  const End& wait_end(std::uint64_t id) {
    run_until([&] { return ends_.count(id) > 0; }, "a call to end");
    return ends_[id];
  }
  const std::string& wait_data(std::uint64_t id, std::size_t index = 0) {
    run_until([&] { return data_[id].size() > index; }, "call data");
    return data_[id][index];
  }

  boost::asio::io_context io_;
  std::map<std::uint64_t, std::vector<std::string>> data_;
  std::map<std::uint64_t, End> ends_;
  std::vector<std::string> missing_;  // programs reported as not on PATH
  ServiceRouter router_;
  std::uint64_t next_ = 1;
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("avenor-services-" + std::to_string(::getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
};

TEST_F(Services, ProcessRunCapturesOutputsAndExitCode) {
  auto id = start("process.run",
                  {{"argv", {"sh", "-c", "cat; printf err >&2; exit 3"}}, {"stdin", "from stdin"}});
  const End& end = wait_end(id);
  ASSERT_EQ(end.status, 0) << end.text;
  auto r = end.result();
  EXPECT_EQ(json::find_int(r, "exit_code"), 3);
  EXPECT_EQ(json::string_or(r, "stdout"), "from stdin");
  EXPECT_EQ(json::string_or(r, "stderr"), "err");
  EXPECT_FALSE(json::bool_or(r, "timed_out"));
}

TEST_F(Services, ProcessRunAppliesEnvAndCwd) {
  std::filesystem::create_directories(dir_);
  auto id = start("process.run", {{"argv", {"sh", "-c", "printf '%s %s' \"$AVENOR_T\" \"$PWD\""}},
                                  {"env", {{"AVENOR_T", "set"}}},
                                  {"cwd", dir_.string()}});
  auto r = wait_end(id).result();
  EXPECT_EQ(json::string_or(r, "stdout"), "set " + dir_.string());
  std::filesystem::remove_all(dir_);
}

TEST_F(Services, ProcessRunKillsAtTheTimeout) {
  auto id = start("process.run", {{"argv", {"sleep", "30"}}, {"timeout_ms", 100}});
  auto r = wait_end(id).result();
  EXPECT_TRUE(json::bool_or(r, "timed_out"));
  EXPECT_EQ(json::find_int(r, "exit_code"), -1);
  EXPECT_EQ(json::find_int(r, "signal"), 9);
}

TEST_F(Services, ProcessRunOfAMissingProgramFails) {
  auto id = start("process.run", {{"argv", {"avenor-no-such-program"}}});
  const End& end = wait_end(id);
  EXPECT_EQ(end.status, AVENOR_FAILURE_ERROR);
  EXPECT_NE(end.text.find("process.run: start avenor-no-such-program"), std::string::npos)
      << end.text;
  // Named to the router's owner, so a failed backend start can say what to install.
  EXPECT_EQ(missing_, std::vector<std::string>{"avenor-no-such-program"});
}

TEST_F(Services, ProcessRunOfAPathIsNotLookedUpOnPath) {
  const End& end = wait_end(start("process.run", {{"argv", {"/nonexistent/avenor-prog"}}}));
  EXPECT_EQ(end.status, AVENOR_FAILURE_ERROR);
  EXPECT_TRUE(missing_.empty());
}

TEST_F(Services, CancelEndsACallAsCancelled) {
  auto id = start("process.run", {{"argv", {"sleep", "30"}}, {"timeout_ms", 0}});
  router_.cancel(id);
  const End& end = wait_end(id);
  EXPECT_EQ(end.status, AVENOR_FAILURE_CANCELLED);
}

TEST_F(Services, UnknownServiceFails) {
  auto id = start("teleport", {});
  EXPECT_TRUE(ends_.empty()) << "a result must never arrive from inside start()";
  const End& end = wait_end(id);
  EXPECT_EQ(end.status, AVENOR_FAILURE_ERROR);
  EXPECT_EQ(end.text, "teleport: unknown host service \"teleport\"");
}

// --- HTTP: a listener and a client in the same router ------------------------

class HttpServices : public Services {
 protected:
  std::uint64_t listen() {
    auto id = start("http.listen", {{"host", "127.0.0.1"}, {"port", 0}});
    auto msg = json::parse(wait_data(id)).as_object();
    EXPECT_EQ(json::string_or(msg, "type"), "listening");
    port_ = static_cast<int>(*json::find_int(msg, "port"));
    return id;
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  int port_ = 0;
};

TEST_F(HttpServices, RequestReachesTheListenerAndTheReplyComesBack) {
  auto listener = listen();
  auto call =
      start("http.request",
            {{"method", "POST"},
             {"url", "http://user:p%40ss@127.0.0.1:" + std::to_string(port_) + "/report?x=1"},
             {"headers", {{"X-Test", "yes"}}},
             {"body", R"({"a":1})"}});
  auto req = json::parse(wait_data(listener, 1)).as_object();
  EXPECT_EQ(json::string_or(req, "type"), "request");
  EXPECT_EQ(json::string_or(req, "method"), "POST");
  EXPECT_EQ(json::string_or(req, "path"), "/report");
  EXPECT_EQ(json::string_or(req, "query"), "x=1");
  EXPECT_EQ(json::string_or(req, "body"), R"({"a":1})");
  const auto* headers = json::find_object(req, "headers");
  ASSERT_NE(headers, nullptr);
  EXPECT_EQ(json::string_or(*headers, "x-test"), "yes");
  EXPECT_EQ(json::string_or(*headers, "authorization"), "Basic dXNlcjpwQHNz");  // user:p@ss

  auto answer = start("http.respond", {{"request_id", json::string_or(req, "request_id")},
                                       {"status", 201},
                                       {"headers", {{"x-reply", "1"}}},
                                       {"body", "done"}});
  EXPECT_EQ(wait_end(answer).status, 0);
  const End& end = wait_end(call);
  ASSERT_EQ(end.status, 0) << end.text;
  auto r = end.result();
  EXPECT_EQ(json::find_int(r, "status"), 201);
  EXPECT_EQ(json::string_or(r, "body"), "done");
  EXPECT_EQ(json::string_or(*json::find_object(r, "headers"), "x-reply"), "1");

  router_.cancel(listener);
  EXPECT_EQ(wait_end(listener).status, AVENOR_FAILURE_CANCELLED);
}

TEST_F(HttpServices, StreamDeliversTheBodyThenTheHead) {
  auto listener = listen();
  auto call = start("http.request", {{"url", url("/event")}, {"stream", true}});
  auto req = json::parse(wait_data(listener, 1)).as_object();
  start("http.respond", {{"request_id", json::string_or(req, "request_id")},
                         {"headers", {{"content-type", "text/event-stream"}}},
                         {"body", "data: {\"type\":\"x\"}\n\n"}});
  const End& end = wait_end(call);
  ASSERT_EQ(end.status, 0) << end.text;
  std::string body;
  for (const auto& d : data_[call]) body += d;
  EXPECT_EQ(body, "data: {\"type\":\"x\"}\n\n");
  EXPECT_EQ(json::find_int(end.result(), "status"), 200);
}

TEST_F(HttpServices, StreamWithAnErrorStatusFailsWithTheBody) {
  auto listener = listen();
  auto call = start("http.request", {{"url", url("/event")}, {"stream", true}});
  auto req = json::parse(wait_data(listener, 1)).as_object();
  start("http.respond",
        {{"request_id", json::string_or(req, "request_id")}, {"status", 503}, {"body", "busy"}});
  const End& end = wait_end(call);
  EXPECT_EQ(end.status, AVENOR_FAILURE_ERROR);
  EXPECT_EQ(end.text, "HTTP 503: busy");
  EXPECT_TRUE(data_[call].empty());
}

TEST_F(HttpServices, ConnectionRefusedFails) {
  auto listener = listen();
  router_.cancel(listener);
  wait_end(listener);
  auto call = start("http.request", {{"url", url("/")}, {"timeout_ms", 2000}});
  const End& end = wait_end(call);
  EXPECT_EQ(end.status, AVENOR_FAILURE_ERROR);
  EXPECT_NE(end.text.find("HTTP request failed"), std::string::npos) << end.text;
}

TEST_F(HttpServices, CancelledStreamEndsAsCancelled) {
  auto listener = listen();
  auto call = start("http.request", {{"url", url("/event")}, {"stream", true}});
  wait_data(listener, 1);  // the request is waiting for an answer that never comes
  router_.cancel(call);
  EXPECT_EQ(wait_end(call).status, AVENOR_FAILURE_CANCELLED);
}

TEST_F(HttpServices, ListenerRefusesNonLoopbackAddresses) {
  auto id = start("http.listen", {{"host", "0.0.0.0"}});
  const End& end = wait_end(id);
  EXPECT_EQ(end.status, AVENOR_FAILURE_ERROR);
  EXPECT_EQ(end.text, "http.listen: http.listen accepts loopback addresses only, not 0.0.0.0");
}

TEST_F(HttpServices, RespondingToAnUnknownRequestFails) {
  auto id = start("http.respond", {{"request_id", "nope"}});
  const End& end = wait_end(id);
  EXPECT_EQ(end.status, AVENOR_FAILURE_ERROR);
  EXPECT_EQ(end.text, "http.respond: no HTTP request nope is waiting");
}

TEST_F(HttpServices, HttpsIsRefused) {
  auto id = start("http.request", {{"url", "https://127.0.0.1:1/"}});
  EXPECT_EQ(wait_end(id).text, "http.request: https is not supported: https://127.0.0.1:1/");
}

// --- files -------------------------------------------------------------------

TEST_F(Services, FileWriteThenReadWholeLinesFromAnOffset) {
  std::filesystem::create_directories(dir_);
  const std::string path = (dir_ / "t.jsonl").string();
  EXPECT_EQ(wait_end(start("file.write", {{"path", path}, {"data", "one\ntwo\nthr"}})).status, 0);
  auto r =
      wait_end(start("file.read", {{"path", path}, {"offset", 4}, {"whole_lines", true}})).result();
  EXPECT_TRUE(json::bool_or(r, "exists"));
  EXPECT_EQ(json::string_or(r, "data"), "two\n");
  EXPECT_EQ(json::find_int(r, "next_offset"), 8);
  EXPECT_EQ(json::find_int(r, "size"), 11);
  std::filesystem::remove_all(dir_);
}

TEST_F(Services, FileReadOfAMissingFileSaysSo) {
  auto r = wait_end(start("file.read", {{"path", (dir_ / "missing").string()}})).result();
  EXPECT_FALSE(json::bool_or(r, "exists"));
}

TEST_F(Services, FileReadReplacesInvalidUtf8) {
  std::filesystem::create_directories(dir_);
  const auto path = dir_ / "bad";
  std::ofstream(path) << "a\xff"
                         "b";
  auto r = wait_end(start("file.read", {{"path", path.string()}})).result();
  EXPECT_EQ(json::string_or(r, "data"),
            "a\xEF\xBF\xBD"
            "b");
  std::filesystem::remove_all(dir_);
}

TEST_F(Services, TempDirIsPrivateAndRemovable) {
  auto r = wait_end(start("file.temp_dir", {{"prefix", "avenor-test-"}})).result();
  const std::string path = json::string_or(r, "path");
  ASSERT_TRUE(std::filesystem::is_directory(path));
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  std::ofstream(path + "/f") << "x";
  auto removed = wait_end(start("file.remove", {{"path", path}, {"recursive", true}})).result();
  EXPECT_TRUE(json::bool_or(removed, "removed"));
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace avenor::host
