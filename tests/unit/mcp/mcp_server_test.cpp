// McpServer::handle_text: the JSON-RPC / MCP protocol of `avenor mcp`
// (control.md §11), driven in-process on a local event loop. Without a
// supervisor, tool calls that need one fail as tool errors; with the
// FakeSupervisor, waits, progress notifications and concurrency are shown.
#include "mcp/mcp_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "../host/test_support.hpp"
#include "fake_supervisor.hpp"
#include "mcp/supervisor_hub.hpp"
#include "mcp/tool_runner.hpp"

namespace avenor::host::mcp {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using test::FakeSupervisor;

// The outcome of one handle_text coroutine.
struct Pending {
  bool done = false;
  std::exception_ptr error;
  std::optional<json::object> response;
};

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : "<not a string: " + json::serialize(v) + ">";
}

class McpServerProtocol : public ::testing::Test {
 protected:
  // A server whose default supervisor socket does not exist and is never
  // started: tool calls needing it fail as tool errors.
  void start_without_supervisor() {
    HubOptions options;
    options.control_socket = dir_ / "none.sock";
    options.autostart = false;
    start(options, McpSettings{});
  }

  // A server attached to a FakeSupervisor answering with `handler`.
  void start_with_fake(FakeSupervisor::Handler handler, McpSettings settings) {
    socket_ = (dir_ / "sup.sock").string();
    fake_.emplace(io_, socket_, std::move(handler));
    HubOptions options;
    options.supervisor_socket = socket_;
    options.autostart = false;
    settings.tmp_dir = dir_.path();
    start(options, settings);
  }

  void start(const HubOptions& options, McpSettings settings) {
    hub_.emplace(io_, options);
    tools_.emplace(*hub_, std::move(settings));
    server_.emplace(*tools_);
  }

  std::shared_ptr<Pending> spawn(std::string text, Notify notify = {}) {
    auto p = std::make_shared<Pending>();
    asio::co_spawn(io_, server_->handle_text(std::move(text), std::move(notify)),
                   [p](std::exception_ptr e, std::optional<json::object> r) {
                     p->done = true;
                     p->error = e;
                     p->response = std::move(r);
                   });
    return p;
  }

  // handle_text of `text`, bounded; fails the test if it throws or hangs.
  std::optional<json::object> handle(std::string text, Notify notify = {}) {
    auto p = spawn(std::move(text), std::move(notify));
    const bool finished = test::run_until(
        io_, [&] { return p->done; }, 20s);
    EXPECT_TRUE(finished) << "handle_text did not finish within 20 s";
    EXPECT_FALSE(p->error) << "handle_text threw";
    return finished ? p->response : std::nullopt;
  }

  // A request that must be answered.
  json::object answer(const std::string& text, Notify notify = {}) {
    std::optional<json::object> r = handle(text, std::move(notify));
    EXPECT_TRUE(r.has_value()) << "no response to " << text.substr(0, 200);
    return r.value_or(json::object{});
  }

  // The error code of the answer to `text` (0 when it is not an error).
  std::int64_t error_code(const std::string& text, json::value* id = nullptr) {
    const json::object r = answer(text);
    if (id != nullptr) *id = r.contains("id") ? r.at("id") : json::value("<absent>");
    const json::value* e = r.if_contains("error");
    if (e == nullptr || !e->is_object()) return 0;
    return e->at("code").as_int64();
  }

  // tools/call of `tool` with `arguments`: the CallToolResult.
  json::object call_tool(const std::string& tool, const json::object& arguments, Notify notify = {},
                         const json::value& token = nullptr) {
    json::object params{{"name", tool}, {"arguments", arguments}};
    if (!token.is_null()) params["_meta"] = json::object{{"progressToken", token}};
    const json::object r =
        answer(json::serialize(json::object{
                   {"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", params}}),
               std::move(notify));
    EXPECT_TRUE(r.contains("result")) << json::serialize(r);
    return r.contains("result") ? r.at("result").as_object() : json::object{};
  }

  static std::string tool_text(const json::object& result) {
    return str(result.at("content").at(0).at("text"));
  }

  asio::io_context io_;
  test::TempDir dir_;
  std::string socket_;
  std::optional<FakeSupervisor> fake_;
  std::optional<SupervisorHub> hub_;
  std::optional<ToolRunner> tools_;
  std::optional<McpServer> server_;
};

// ---- protocol ----

TEST_F(McpServerProtocol, InitializeNegotiatesTheVersion) {
  start_without_supervisor();
  auto init = [&](const std::string& version_json) {
    return answer(R"({"jsonrpc":"2.0","id":"init","method":"initialize","params":{)" +
                  (version_json.empty() ? "" : R"("protocolVersion":)" + version_json + ",") +
                  R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  };
  for (const char* v : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
    const json::object r = init(std::string("\"") + v + "\"");
    EXPECT_EQ(r.at("result").at("protocolVersion"), v);
  }
  for (const std::string other : {R"("1999-01-01")", R"("")", "5", ""}) {
    EXPECT_EQ(init(other).at("result").at("protocolVersion"), "2025-06-18") << other;
  }
  const json::object r = init(R"("2025-03-26")");
  EXPECT_EQ(r.at("jsonrpc"), "2.0");
  EXPECT_EQ(r.at("id"), "init");
  const json::object& result = r.at("result").as_object();
  EXPECT_EQ(result.at("serverInfo").at("name"), "avenor");
  EXPECT_FALSE(str(result.at("serverInfo").at("version")).empty());
  EXPECT_EQ(result.at("capabilities").at("tools").at("listChanged"), false);
  EXPECT_FALSE(str(result.at("instructions")).empty());
}

TEST_F(McpServerProtocol, ToolsListHasSevenClosedSchemas) {
  start_without_supervisor();
  const json::object r = answer(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  const json::array& tools = r.at("result").at("tools").as_array();
  std::set<std::string> names;
  for (const auto& t : tools) {
    const std::string name = str(t.at("name"));
    names.insert(name);
    EXPECT_FALSE(str(t.at("title")).empty()) << name;
    EXPECT_FALSE(str(t.at("description")).empty()) << name;
    const json::object& schema = t.at("inputSchema").as_object();
    EXPECT_EQ(schema.at("type"), "object") << name;
    EXPECT_EQ(schema.at("additionalProperties"), false) << name;
    const json::object& properties = schema.at("properties").as_object();
    if (const json::value* required = schema.if_contains("required")) {
      for (const auto& key : required->as_array())
        EXPECT_TRUE(properties.contains(key.as_string())) << name << " requires " << key;
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"avenor_spawn", "avenor_status", "avenor_result",
                                          "avenor_answer_permission", "avenor_events",
                                          "avenor_follow_up", "avenor_shutdown"}));
  EXPECT_EQ(tools.size(), 7u);

  auto required = [&](const std::string& name) {
    std::set<std::string> out;
    for (const auto& t : tools) {
      if (t.at("name") != name.c_str()) continue;
      if (const json::value* req = t.at("inputSchema").as_object().if_contains("required"))
        for (const auto& k : req->as_array()) out.emplace(k.as_string());
    }
    return out;
  };
  EXPECT_EQ(required("avenor_spawn"), (std::set<std::string>{"repo_dir"}));
  EXPECT_EQ(required("avenor_status"), (std::set<std::string>{}));
  EXPECT_EQ(required("avenor_result"), (std::set<std::string>{"run_id"}));
  EXPECT_EQ(required("avenor_answer_permission"), (std::set<std::string>{"run_id", "option_id"}));
  EXPECT_EQ(required("avenor_events"), (std::set<std::string>{"run_id"}));
  EXPECT_EQ(required("avenor_follow_up"), (std::set<std::string>{"run_id", "message"}));
  EXPECT_EQ(required("avenor_shutdown"), (std::set<std::string>{}));
}

// What a schema advertises, the tool accepts: no property of any tool's
// schema is an "unknown parameter" to the tool itself.
TEST_F(McpServerProtocol, EverySchemaPropertyIsAcceptedByItsTool) {
  start_without_supervisor();
  const json::object r = answer(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  int checked = 0;
  for (const auto& t : r.at("result").at("tools").as_array()) {
    const std::string name = str(t.at("name"));
    for (const auto& [key, schema] : t.at("inputSchema").at("properties").as_object()) {
      json::value sample = "1s";  // fits a string and a duration
      const json::object& s = schema.as_object();
      if (const json::value* e = s.if_contains("enum")) sample = e->as_array().at(0);
      const json::value* type = s.if_contains("type");
      if (type != nullptr && *type == "boolean") sample = false;
      if (type != nullptr && *type == "integer") sample = 1;
      if (type != nullptr && *type == "array") sample = json::array{"x"};
      const std::string text = tool_text(call_tool(name, json::object{{key, sample}}));
      EXPECT_EQ(text.find("unknown parameter"), std::string::npos)
          << name << "." << key << ": " << text;
      EXPECT_EQ(text.find("must be"), std::string::npos) << name << "." << key << ": " << text;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 17 + 5 + 4 + 5 + 3 + 4 + 2);  // every property of the seven tools
}

TEST_F(McpServerProtocol, PingAnswersEmptyObject) {
  start_without_supervisor();
  const json::object r = answer(R"({"jsonrpc":"2.0","id":"p-1","method":"ping"})");
  EXPECT_EQ(r.at("id"), "p-1");
  EXPECT_EQ(r.at("result"), json::object{});
  EXPECT_FALSE(r.contains("error"));
  // Integer ids are echoed as given, 0 and negatives included.
  EXPECT_EQ(answer(R"({"jsonrpc":"2.0","id":0,"method":"ping"})").at("id"), 0);
  EXPECT_EQ(answer(R"({"jsonrpc":"2.0","id":-7,"method":"ping"})").at("id"), -7);
  // params null is no params.
  EXPECT_EQ(answer(R"({"jsonrpc":"2.0","id":3,"method":"ping","params":null})").at("result"),
            json::object{});
}

TEST_F(McpServerProtocol, NotificationsResponsesAndBlankLinesGetNoAnswer) {
  start_without_supervisor();
  EXPECT_EQ(handle(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"), std::nullopt);
  EXPECT_EQ(handle(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{}})"),
            std::nullopt);
  // A notification is not run: no tool error comes back for it either.
  EXPECT_EQ(handle(R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"nope"}})"),
            std::nullopt);
  EXPECT_EQ(handle(R"({"jsonrpc":"2.0","id":5,"result":{}})"), std::nullopt);
  EXPECT_EQ(handle(R"({"jsonrpc":"2.0","id":"x","error":{"code":-1,"message":"m"}})"),
            std::nullopt);
  EXPECT_EQ(handle(""), std::nullopt);
  EXPECT_EQ(handle(" \t\r\n"), std::nullopt);
}

TEST_F(McpServerProtocol, ParseErrorHasIdNull) {
  start_without_supervisor();
  for (const char* bad : {"{not json", "{\"id\":1,\"method\":\"ping\"", "nul", "{\"a\":1} x",
                          "{\"id\":1,\"method\":\"ping\"}{\"id\":2,\"method\":\"ping\"}"}) {
    json::value id;
    EXPECT_EQ(error_code(bad, &id), kParseError) << bad;
    EXPECT_TRUE(id.is_null()) << bad;
  }
}

TEST_F(McpServerProtocol, BatchesAndNonObjectsAreInvalidRequests) {
  start_without_supervisor();
  json::value id;
  const json::object batch = answer(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])");
  EXPECT_EQ(batch.at("error").at("code"), kInvalidRequest);
  EXPECT_NE(str(batch.at("error").at("message")).find("batches are not supported"),
            std::string::npos);
  EXPECT_TRUE(batch.at("id").is_null());
  EXPECT_EQ(error_code("[]", &id), kInvalidRequest);
  for (const char* v : {"5", "\"ping\"", "null", "true", "1.5"}) {
    EXPECT_EQ(error_code(v, &id), kInvalidRequest) << v;
    EXPECT_TRUE(id.is_null()) << v;
  }
}

TEST_F(McpServerProtocol, MalformedRequestsAreInvalidRequests) {
  start_without_supervisor();
  json::value id;
  // No method: answered with its id when it has a usable one.
  EXPECT_EQ(error_code(R"({"jsonrpc":"2.0","id":3})", &id), kInvalidRequest);
  EXPECT_EQ(id, 3);
  EXPECT_EQ(error_code(R"({"jsonrpc":"2.0","params":{}})", &id), kInvalidRequest);
  EXPECT_TRUE(id.is_null());
  EXPECT_EQ(error_code(R"({})", &id), kInvalidRequest);
  // A method that is not a string.
  EXPECT_EQ(error_code(R"({"jsonrpc":"2.0","id":4,"method":5})", &id), kInvalidRequest);
  EXPECT_EQ(id, 4);
  EXPECT_EQ(error_code(R"({"jsonrpc":"2.0","id":"s","method":null})", &id), kInvalidRequest);
  EXPECT_EQ(id, "s");
  // Ids that are neither a string nor an integer.
  for (const char* bad_id : {"{}", "[]", "1.5", "true", "null"}) {
    EXPECT_EQ(
        error_code(std::string(R"({"jsonrpc":"2.0","method":"ping","id":)") + bad_id + "}", &id),
        kInvalidRequest)
        << bad_id;
    EXPECT_TRUE(id.is_null()) << bad_id;
  }
}

TEST_F(McpServerProtocol, UnknownMethodIsMethodNotFound) {
  start_without_supervisor();
  const json::object r = answer(R"({"jsonrpc":"2.0","id":9,"method":"resources/list"})");
  EXPECT_EQ(r.at("error").at("code"), kMethodNotFound);
  EXPECT_EQ(r.at("id"), 9);
  EXPECT_NE(str(r.at("error").at("message")).find("resources/list"), std::string::npos);
}

TEST_F(McpServerProtocol, ToolsCallInvalidParams) {
  start_without_supervisor();
  auto call = [&](const std::string& params) {
    return answer(R"({"jsonrpc":"2.0","id":11,"method":"tools/call","params":)" + params + "}");
  };
  for (const char* p :
       {R"({})", R"({"name":5})", R"({"name":null,"arguments":{}})",
        R"({"name":"avenor_status","arguments":"x"})", R"({"name":"avenor_status","arguments":[]})",
        R"({"name":"avenor_status","arguments":5})", R"([1])", R"("x")"}) {
    const json::object r = call(p);
    EXPECT_EQ(r.at("error").at("code"), kInvalidParams) << p;
    EXPECT_EQ(r.at("id"), 11) << p;
  }
  const json::object unknown = call(R"({"name":"x","arguments":{}})");
  EXPECT_EQ(unknown.at("error").at("code"), kInvalidParams);
  EXPECT_EQ(unknown.at("error").at("message"), "unknown tool \"x\"");
}

TEST_F(McpServerProtocol, DeepNestingIsAnErrorNotACrash) {
  start_without_supervisor();
  const std::string arrays = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_EQ(error_code(arrays), kParseError);
  std::string objects;
  for (int i = 0; i < 10000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(10000, '}');
  EXPECT_EQ(error_code(objects), kParseError);
  // Deep inside an otherwise valid request.
  EXPECT_EQ(error_code(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":)" + arrays + "}}"),
            kParseError);
  // Still serving.
  EXPECT_EQ(answer(R"({"jsonrpc":"2.0","id":2,"method":"ping"})").at("result"), json::object{});
}

TEST_F(McpServerProtocol, OversizeMessage) {
  start_without_supervisor();
  const std::string big = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":")" +
                          std::string(kMaxMessageBytes, 'x') + "\"}}";
  const json::object r = answer(big);
  EXPECT_EQ(r.at("error").at("code"), kInvalidRequest);
  EXPECT_EQ(r.at("error").at("message"), "message exceeds 4194304 bytes");
  EXPECT_TRUE(r.at("id").is_null());
  EXPECT_EQ(McpServer::oversize_error(), r);
}

// ---- tool errors (no supervisor) ----

TEST_F(McpServerProtocol, ToolParamErrorIsAToolResult) {
  start_without_supervisor();
  json::object r = call_tool("avenor_status", {{"bogus", 1}});
  EXPECT_EQ(r.at("isError"), true);
  EXPECT_EQ(tool_text(r), "unknown parameter \"bogus\"");
  EXPECT_EQ(r.at("content").at(0).at("type"), "text");
  EXPECT_FALSE(r.contains("structuredContent"));

  EXPECT_EQ(tool_text(call_tool("avenor_result", {{"run_id", "r"}, {"wait", "yes"}})),
            "parameter \"wait\" must be a boolean");
  EXPECT_EQ(tool_text(call_tool("avenor_result", {})), "run_id is required");
  EXPECT_EQ(tool_text(call_tool("avenor_status", {{"wait_for", "terminal"}})),
            "wait_for requires run_id");
  EXPECT_EQ(tool_text(call_tool("avenor_status", {{"run_id", "r"}, {"timeout", "5s"}})),
            "timeout requires wait_for");
  EXPECT_EQ(tool_text(call_tool("avenor_status", {{"run_id", "r"}, {"wait_for", "soon"}})),
            "wait_for must be one of terminal, phase_change, turn_complete, permission");
  EXPECT_EQ(tool_text(call_tool("avenor_status",
                                {{"run_id", "r"}, {"wait_for", "terminal"}, {"timeout", "0"}})),
            "timeout must be a positive duration like 90s, 10m or 2h");
  EXPECT_EQ(tool_text(call_tool("avenor_spawn",
                                {{"repo_dir", (dir_ / "nope").string()}, {"prompt", "p"}})),
            "repo_dir \"" + (dir_ / "nope").string() + "\" is not a directory");
  EXPECT_EQ(tool_text(call_tool("avenor_spawn", {{"repo_dir", dir_.path().string()}})),
            "prompt or prompt_file is required");
  EXPECT_EQ(tool_text(call_tool(
                "avenor_spawn",
                {{"repo_dir", dir_.path().string()}, {"prompt", "p"}, {"prompt_file", "f"}})),
            "prompt and prompt_file are mutually exclusive");
  EXPECT_EQ(tool_text(call_tool(
                "avenor_spawn",
                {{"repo_dir", dir_.path().string()}, {"prompt", "p"}, {"timeout", "-1s"}})),
            "timeout must be a positive duration like 90s, 10m or 2h");
  // arguments absent or null: no arguments.
  const json::object absent =
      answer(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"avenor_result"}})");
  EXPECT_EQ(tool_text(absent.at("result").as_object()), "run_id is required");
}

TEST_F(McpServerProtocol, MissingSupervisorIsAToolError) {
  start_without_supervisor();
  const std::pair<std::string, json::object> calls[] = {
      {"avenor_status", {}},
      {"avenor_result", {{"run_id", "r1"}}},
      {"avenor_spawn", {{"repo_dir", dir_.path().string()}, {"prompt", "p"}}}};
  for (const auto& [tool, args] : calls) {
    const json::object r = call_tool(tool, args);
    EXPECT_EQ(r.at("isError"), true) << tool;
    EXPECT_NE(tool_text(r).find((dir_ / "none.sock").string()), std::string::npos)
        << tool << ": " << tool_text(r);
  }
  // Nothing was started in its place.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "none.sock"));
}

// ---- with a fake supervisor ----

const std::string kRunUuid = "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

class McpServerWaits : public McpServerProtocol {
 protected:
  json::object entry(const std::string& status, const std::string& phase) const {
    return {{"runtime_id", "rt_1"},
            {"session_id", "ses_1"},
            {"label", "job"},
            {"status", status},
            {"phase", phase},
            {"phase_label", phase},
            {"pending_permission", false},
            {"latest_seq", 3},
            {"sentinel_file", (dir_ / ("avenor-run-" + kRunUuid + ".done")).string()},
            {"on_event", (dir_ / ("avenor-run-" + kRunUuid + ".log")).string()},
            {"event_path", (dir_ / ("avenor-run-" + kRunUuid + ".log")).string()}};
  }

  // A supervisor with one runtime, running for `running_polls` status calls
  // (negative: for ever), then ended.
  void start_one_runtime(int running_polls, std::chrono::milliseconds max_wait = 5s) {
    McpSettings settings;
    settings.max_wait = max_wait;
    settings.poll_interval = 20ms;
    start_with_fake(
        [this, running_polls](const std::string& method,
                              const json::object& params) -> json::value {
          if (method == "list")
            return json::array{entry(still_running() ? "running" : "ended", "work")};
          if (method == "status" && params.contains("runtime_id")) {
            ++status_calls_;
            return still_running(running_polls) ? entry("running", "work") : entry("ended", "done");
          }
          if (method == "result") return json::object{{"final_output", "all done"}};
          if (method == "shutdown") {
            fake_->stop_after_reply();
            return json::object{};
          }
          throw FakeSupervisor::Error{-32601, "method not found"};
        },
        settings);
  }

  bool still_running(int running_polls = -1) const {
    if (finish_) return false;
    return running_polls < 0 || status_calls_ <= running_polls;
  }

  static bool progress_of(const json::object& n, json::value token, double total,
                          const std::string& message) {
    return n.at("jsonrpc") == "2.0" && n.at("method") == "notifications/progress" &&
           n.at("params").at("progressToken") == token &&
           n.at("params").at("total").to_number<double>() == total &&
           n.at("params").at("message") == message.c_str();
  }

  int status_calls_ = 0;
  bool finish_ = false;
};

TEST_F(McpServerWaits, ProgressIsNotifiedOncePerPollBeforeTheResponse) {
  start_one_runtime(3);
  std::vector<json::object> notes;
  bool answered = false;
  Notify notify = [&](json::object n) {
    EXPECT_FALSE(answered) << "a notification after the response";
    notes.push_back(std::move(n));
  };
  const json::object r =
      call_tool("avenor_status", {{"run_id", "job"}, {"wait_for", "terminal"}}, notify, "tok-1");
  answered = true;
  EXPECT_EQ(r.at("isError"), false) << json::serialize(r);
  const json::object& s = r.at("structuredContent").as_object();
  EXPECT_EQ(s.at("status"), "done");
  EXPECT_EQ(s.at("timed_out"), false);
  EXPECT_EQ(s.at("run_id"), kRunUuid.c_str());  // rebuilt from the sentinel path
  EXPECT_EQ(s.at("label"), "job");
  EXPECT_EQ(json::parse(tool_text(r)), s);

  // Three polls saw it running: three notifications, progress increasing.
  ASSERT_EQ(notes.size(), 3u);
  double last = -1;
  for (const auto& n : notes) {
    EXPECT_TRUE(progress_of(n, "tok-1", 5.0, "job running, phase work")) << json::serialize(n);
    const double p = n.at("params").at("progress").to_number<double>();
    EXPECT_GT(p, last);
    last = p;
  }
  EXPECT_EQ(status_calls_, 4);
}

TEST_F(McpServerWaits, NumericTokenAndTimeoutAsTotal) {
  start_one_runtime(1);
  std::vector<json::object> notes;
  const json::object r = call_tool(
      "avenor_status", {{"run_id", "rt_1"}, {"wait_for", "terminal"}, {"timeout", "3s"}},
      [&](json::object n) { notes.push_back(std::move(n)); }, 7);
  EXPECT_EQ(r.at("structuredContent").at("status"), "done");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_TRUE(progress_of(notes[0], 7, 3.0, "job running, phase work"))
      << json::serialize(notes[0]);
}

TEST_F(McpServerWaits, NoTokenNoNotifications) {
  start_one_runtime(2);
  int notes = 0;
  const json::object r = call_tool("avenor_status", {{"run_id", "job"}, {"wait_for", "terminal"}},
                                   [&](json::object) { ++notes; });
  EXPECT_EQ(r.at("structuredContent").at("status"), "done");
  EXPECT_EQ(notes, 0);
  // A token that is neither a string nor a number is no token.
  status_calls_ = 0;
  call_tool(
      "avenor_status", {{"run_id", "job"}, {"wait_for", "terminal"}},
      [&](json::object) { ++notes; }, json::object{});
  EXPECT_EQ(notes, 0);
}

TEST_F(McpServerWaits, WaitEndsAtMaxWaitWithTimedOut) {
  start_one_runtime(-1, 200ms);
  const json::object r =
      call_tool("avenor_status", {{"run_id", "job"}, {"wait_for", "terminal"}, {"timeout", "1h"}});
  const json::object& s = r.at("structuredContent").as_object();
  EXPECT_EQ(s.at("status"), "running");
  EXPECT_EQ(s.at("timed_out"), true);
  EXPECT_GE(status_calls_, 2);
  // The lifecycle view keeps timed_out.
  const json::object l = call_tool(
      "avenor_status",
      {{"run_id", "job"}, {"wait_for", "terminal"}, {"view", "lifecycle"}, {"timeout", "1s"}});
  EXPECT_EQ(l.at("structuredContent").at("timed_out"), true);
  EXPECT_FALSE(l.at("structuredContent").as_object().contains("session_id"));
}

TEST_F(McpServerWaits, PingIsAnsweredWhileAWaitRuns) {
  start_one_runtime(-1, 60s);  // the wait must outlast a slow machine's ping
  int notes = 0;
  auto wait =
      spawn(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"avenor_result",)"
            R"("arguments":{"run_id":"job"},"_meta":{"progressToken":"w"}}})",
            [&](json::object) { ++notes; });
  ASSERT_TRUE(test::run_until(
      io_, [&] { return notes >= 2; }, 10s))
      << "the wait never polled";
  const std::optional<json::object> pong = handle(R"({"jsonrpc":"2.0","id":2,"method":"ping"})");
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->at("id"), 2);
  EXPECT_FALSE(wait->done) << "the wait ended before the runtime did";
  finish_ = true;
  ASSERT_TRUE(test::run_until(
      io_, [&] { return wait->done; }, 10s))
      << "the wait did not end";
  ASSERT_TRUE(wait->response);
  const json::object& result = wait->response->at("result").at("structuredContent").as_object();
  EXPECT_EQ(result.at("status"), "done");
  EXPECT_EQ(result.at("ready"), true);
  EXPECT_EQ(result.at("output"), "all done");
}

TEST_F(McpServerWaits, StatusListIsStructuredAsRuns) {
  start_one_runtime(-1);
  const json::object r = call_tool("avenor_status", {});
  EXPECT_EQ(r.at("isError"), false);
  const json::array& runs = r.at("structuredContent").at("runs").as_array();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].at("run_id"), kRunUuid.c_str());
  EXPECT_EQ(runs[0].at("status"), "running");
  EXPECT_EQ(json::parse(tool_text(r)), json::value(runs));
}

TEST_F(McpServerWaits, SpawnSendsTheRunAndSupervisorErrorsSurface) {
  McpSettings settings;
  settings.poll_interval = 20ms;
  start_with_fake(
      [](const std::string& method, const json::object& params) -> json::value {
        if (method != "spawn") throw FakeSupervisor::Error{-32601, "method not found"};
        if (params.contains("backend"))
          throw FakeSupervisor::Error{-32602, "unknown backend \"nope\""};
        return json::object{{"runtime_id", "rt_7"}, {"session_id", "ses_7"}};
      },
      settings);
  const json::object bad = call_tool(
      "avenor_spawn", {{"repo_dir", dir_.path().string()}, {"prompt", "hi"}, {"backend", "nope"}});
  EXPECT_EQ(bad.at("isError"), true);
  EXPECT_EQ(tool_text(bad), "unknown backend \"nope\"");

  const json::object r = call_tool(
      "avenor_spawn", {{"repo_dir", dir_.path().string()}, {"prompt", "hi"}, {"timeout", "2m"}});
  ASSERT_EQ(r.at("isError"), false) << tool_text(r);
  const json::object& s = r.at("structuredContent").as_object();
  const std::string run_id = str(s.at("run_id"));
  EXPECT_TRUE(std::regex_match(
      run_id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << run_id;
  EXPECT_EQ(s.at("label"), run_id.c_str());
  EXPECT_EQ(s.at("runtime_id"), "rt_7");
  EXPECT_EQ(s.at("session_id"), "ses_7");
  EXPECT_EQ(s.at("supervisor_id"), socket_.c_str());
  const std::string sentinel = (dir_ / ("avenor-run-" + run_id + ".done")).string();
  const std::string log = (dir_ / ("avenor-run-" + run_id + ".log")).string();
  EXPECT_EQ(s.at("sentinel_file"), sentinel.c_str());
  EXPECT_EQ(s.at("event_path"), log.c_str());

  const std::vector<json::object> sent = fake_->params_of("spawn");
  ASSERT_EQ(sent.size(), 2u);
  const json::object& p = sent[1];
  EXPECT_EQ(p.at("dir"), dir_.path().string().c_str());
  EXPECT_EQ(p.at("prompt"), "hi");
  EXPECT_EQ(p.at("timeout"), 120);
  EXPECT_EQ(p.at("label"), run_id.c_str());
  EXPECT_EQ(p.at("sentinel_file"), sentinel.c_str());
  EXPECT_EQ(p.at("on_event"), log.c_str());
  EXPECT_EQ(p.at("idempotency_key"), ("mcp-" + run_id).c_str());
  EXPECT_FALSE(p.contains("auto_approve"));
}

// A wait holds its run record across polls while a concurrent avenor_shutdown
// drops the supervisor's records: the records are retired, not freed, so the
// wait's next poll still reads a live record and the wait ends (this was a
// use-after-free; ASan and valgrind builds see it if it comes back).
TEST_F(McpServerWaits, ShutdownDuringAWait) {
  start_one_runtime(-1, 60s);
  int notes = 0;
  auto wait =
      spawn(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"avenor_result",)"
            R"("arguments":{"run_id":"job"},"_meta":{"progressToken":"w"}}})",
            [&](json::object) { ++notes; });
  ASSERT_TRUE(test::run_until(
      io_, [&] { return notes >= 1; }, 10s));
  const json::object r = call_tool("avenor_shutdown", {});
  EXPECT_EQ(r.at("isError"), false) << tool_text(r);
  ASSERT_TRUE(test::run_until(
      io_, [&] { return wait->done; }, 10s));
}

}  // namespace
}  // namespace avenor::host::mcp
