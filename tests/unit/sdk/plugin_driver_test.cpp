// The SDK's fake host and its C-boundary driver (avenor/sdk/testing): a plugin
// written against the bare C ABI is driven through its vtable, and every host
// function it calls is recorded as a third party's test would read it.
#include <gtest/gtest.h>

#include <avenor/sdk/testing/fake_host.hpp>
#include <avenor/sdk/testing/plugin_driver.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace bj = boost::json;
using avenor::sdk::from_abi;
using avenor::sdk::to_abi;
using avenor::sdk::testing::FakeHost;
using avenor::sdk::testing::Instance;
using avenor::sdk::testing::Plugin;

bj::value J(std::string_view text) { return avenor::sdk::json::parse(text); }

// --- a plugin written in plain C style, with no SDK C++ layer -------------------

struct Probe {
  const avenor_host_api* host;
  std::string options;
  std::uint64_t pending_op = 0;
};

Probe& probe(avenor_instance* p) { return *reinterpret_cast<Probe*>(p); }
void put(avenor_sink s, std::string_view text) { s.put(s.ctx, to_abi(text)); }
bool host_has(const avenor_host_api* h, std::size_t end_of_member) {
  return h->struct_size >= end_of_member;
}
void emit(const Probe& p, const std::string& json, std::string_view event) {
  if (host_has(p.host, offsetof(avenor_host_api, emit_event_serialized) + sizeof(void*))) {
    const avenor_event e{sizeof(avenor_event), to_abi(json), to_abi(event),
                         to_abi(""),           to_abi(""),   0};
    p.host->emit_event_serialized(p.host->ctx, &e);
  } else {
    p.host->emit_event(p.host->ctx, to_abi(json));
  }
}

int32_t probe_create(avenor_str backend, avenor_str options, const avenor_host_api* host,
                     avenor_instance** out, avenor_sink error) {
  if (from_abi(backend) != "probe") {
    put(error, "unknown backend");
    return 1;
  }
  auto p = std::make_unique<Probe>(Probe{host, std::string(from_abi(options))});
  *out = reinterpret_cast<avenor_instance*>(p.release());
  return 0;
}
void probe_destroy(avenor_instance* p) { std::unique_ptr<Probe> owned(&probe(p)); }
int32_t probe_launch_spec(avenor_instance* p, avenor_sink out, avenor_sink) {
  put(out, R"({"argv":["probe-cli"],"options":)" + probe(p).options + "}");
  return 0;
}
void probe_on_bytes(avenor_instance* p, avenor_str bytes) {
  const Probe& in = probe(p);
  in.host->write(in.host->ctx, to_abi("got:" + std::string(from_abi(bytes))));
  emit(in, R"({"event":"probe.bytes","n":)" + std::to_string(bytes.size) + "}", "probe.bytes");
}
void probe_on_closed(avenor_instance* p, avenor_str reason) {
  probe(p).host->log(probe(p).host->ctx, AVENOR_LOG_WARN, reason);
}
void probe_on_timer(avenor_instance* p, uint64_t id) {
  emit(probe(p), R"({"event":"probe.timer","id":)" + std::to_string(id) + "}", "probe.timer");
}
// With services: asks process.run first and finishes when it answers.
void probe_start_session(avenor_instance* p, uint64_t op, avenor_str) {
  Probe& in = probe(p);
  if (host_has(in.host, offsetof(avenor_host_api, cancel_call) + sizeof(void*))) {
    in.pending_op = op;
    in.host->call(in.host->ctx, 7, to_abi("process.run"), to_abi(R"({"argv":["true"]})"));
  } else {
    in.host->complete(in.host->ctx, op, to_abi(R"({"session_id":"old-host"})"));
  }
}
void probe_prompt(avenor_instance* p, uint64_t op, avenor_str params) {
  const Probe& in = probe(p);
  in.host->set_timer(in.host->ctx, 3, 250);
  in.host->complete(in.host->ctx, op, params);  // echoes its params
}
void probe_cancel(avenor_instance* p, uint64_t op, avenor_str) {
  const Probe& in = probe(p);
  in.host->cancel_call(in.host->ctx, 7);
  in.host->fail(in.host->ctx, op, AVENOR_FAILURE_CANCELLED, to_abi("nothing to cancel"));
}
void probe_answer_permission(avenor_instance* p, uint64_t op, avenor_str) {
  const Probe& in = probe(p);  // a bug on purpose: finishes twice
  in.host->complete(in.host->ctx, op, to_abi("{}"));
  in.host->fatal(in.host->ctx, to_abi("no such request"));
  in.host->fail(in.host->ctx, op, AVENOR_FAILURE_ERROR, to_abi("again"));
}
void probe_on_call_data(avenor_instance* p, uint64_t call, avenor_str data) {
  emit(probe(p),
       R"({"event":"probe.data","call":)" + std::to_string(call) + R"(,"data":")" +
           std::string(from_abi(data)) + "\"}",
       "probe.data");
}
void probe_on_call_result(avenor_instance* p, uint64_t, int32_t status, avenor_str result) {
  Probe& in = probe(p);
  std::string json = status == 0
                         ? R"({"session_id":"s1","result":)" + std::string(from_abi(result)) + "}"
                         : R"({"session_id":"failed"})";
  in.host->complete(in.host->ctx, in.pending_op, to_abi(json));
}

constexpr avenor_plugin_vtable kProbeVtable{sizeof(avenor_plugin_vtable),
                                            &probe_create,
                                            &probe_destroy,
                                            &probe_launch_spec,
                                            &probe_on_bytes,
                                            &probe_on_closed,
                                            &probe_on_timer,
                                            &probe_start_session,
                                            &probe_prompt,
                                            &probe_cancel,
                                            &probe_answer_permission,
                                            &probe_on_call_data,
                                            &probe_on_call_result};
constexpr avenor_backend_info kProbeBackends[] = {
    {sizeof(avenor_backend_info), "probe", "probe-cli", AVENOR_CAP_RESUME, 0, nullptr}};

const avenor_plugin_descriptor* probe_entry() {
  static const avenor_plugin_descriptor d{AVENOR_ABI_MAJOR,
                                          AVENOR_ABI_MINOR,
                                          sizeof(avenor_plugin_descriptor),
                                          "probe",
                                          "0.3.0",
                                          kProbeBackends,
                                          1,
                                          &kProbeVtable};
  return &d;
}
const avenor_plugin_descriptor* abi2_entry() {
  static const avenor_plugin_descriptor d{
      2, 0, sizeof(avenor_plugin_descriptor), "future", "1", kProbeBackends, 1, &kProbeVtable};
  return &d;
}

// The same plugin as built against ABI 1.0: its vtable ends before on_call_data.
constexpr avenor_plugin_vtable with_size(avenor_plugin_vtable v, std::uint32_t size) {
  v.struct_size = size;
  return v;
}
constexpr avenor_plugin_vtable kAbi10Vtable =
    with_size(kProbeVtable, offsetof(avenor_plugin_vtable, on_call_data));
constexpr avenor_plugin_vtable kTruncatedVtable =
    with_size(kProbeVtable, offsetof(avenor_plugin_vtable, answer_permission));
const avenor_plugin_descriptor* abi10_entry() {
  static const avenor_plugin_descriptor d{
      AVENOR_ABI_MAJOR, 0, sizeof(avenor_plugin_descriptor), "old", "1", kProbeBackends, 1,
      &kAbi10Vtable};
  return &d;
}
const avenor_plugin_descriptor* truncated_entry() {
  static const avenor_plugin_descriptor d{
      AVENOR_ABI_MAJOR, 0, sizeof(avenor_plugin_descriptor), "short", "1", kProbeBackends, 1,
      &kTruncatedVtable};
  return &d;
}

// --- the tests --------------------------------------------------------------------

TEST(PluginDriver, ReadsTheDescriptorAndRefusesWhatTheHostRefuses) {
  Plugin plugin(&probe_entry);
  EXPECT_EQ(plugin.name(), "probe");
  EXPECT_EQ(plugin.version(), "0.3.0");
  EXPECT_EQ(plugin.abi(), "1." + std::to_string(AVENOR_ABI_MINOR));
  ASSERT_EQ(plugin.backends().size(), 1u);
  EXPECT_STREQ(plugin.backends()[0]->cli, "probe-cli");
  EXPECT_TRUE(plugin.takes_service_results());

  try {
    Plugin future(&abi2_entry);
    ADD_FAILURE() << "an ABI 2 plugin was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "incompatible plugin ABI 2.0; this avenor supports ABI 1.x (up to 1." +
                  std::to_string(AVENOR_ABI_MINOR) + ")");
  }
  try {
    Plugin::load("/nonexistent/avenor-probe.so");
    ADD_FAILURE() << "a missing file was loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot load plugin: ", 0), 0u) << e.what();
  }
  FakeHost host;
  try {
    Instance nope(plugin, host, "nope");
    ADD_FAILURE() << "an unknown backend was created";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot start backend nope: unknown backend");
  }
}

TEST(PluginDriver, LoadsAnAbi10PluginAndRefusesAShorterTable) {
  // Minor versions only append: a 1.0 plugin loads, and no 1.1 member is called.
  Plugin old(&abi10_entry);
  EXPECT_EQ(old.abi(), "1.0");
  EXPECT_FALSE(old.takes_service_results());
  try {
    Plugin truncated(&truncated_entry);
    ADD_FAILURE() << "a vtable shorter than 1.0's was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "malformed plugin descriptor (tables shorter than ABI 1.0)");
  }
}

TEST(PluginDriver, DrivesEveryFunctionAndRecordsWhatTheHostWouldSee) {
  Plugin plugin(&probe_entry);
  FakeHost host;
  Instance probe(plugin, host, "probe", {{"dir", "/work/proj"}});
  EXPECT_EQ(bj::value(probe.launch_spec()),
            J(R"({"argv":["probe-cli"],"options":{"dir":"/work/proj"}})"));

  // The child's stdout in, the child's stdin out.
  probe.feed("hello\n");
  EXPECT_EQ(host.take_bytes(), "got:hello\n");
  EXPECT_EQ(host.event_names(), std::vector<std::string>{"probe.bytes"});
  ASSERT_EQ(host.serialized.size(), 1u);  // a 1.2 host: the fast path
  EXPECT_EQ(host.serialized[0].type, "probe.bytes");

  // A service call, answered through on_call_data / on_call_result.
  auto start = probe.start_session();
  EXPECT_FALSE(host.is_finished(start));
  FakeHost::Call* call = host.open_call("process.run");
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(call->id, 7u);
  EXPECT_EQ(bj::value(call->request), J(R"({"argv":["true"]})"));
  host.answer_data(7, "out");
  host.answer(7, J(R"({"exit_code":0})"));
  EXPECT_EQ(host.completed[start], J(R"({"session_id":"s1","result":{"exit_code":0}})"));
  EXPECT_THROW(host.answer(7, J("{}")), std::logic_error);  // answered already

  // A timer the plugin armed fires once.
  auto turn = probe.prompt("s1", "hi");
  EXPECT_EQ(host.completed[turn], J(R"({"session_id":"s1","text":"hi"})"));
  EXPECT_EQ(host.timers.at(3), 250u);
  EXPECT_TRUE(probe.fire_timer(3));
  EXPECT_FALSE(probe.fire_timer(3));
  EXPECT_EQ(host.events.back().at("event"), "probe.timer");

  auto cancel = probe.cancel("s1");
  EXPECT_EQ(host.failed.at(cancel).kind, AVENOR_FAILURE_CANCELLED);
  EXPECT_EQ(host.failure(cancel), "nothing to cancel");

  probe.close("exit code 1");
  ASSERT_EQ(host.logs.size(), 1u);
  EXPECT_EQ(host.logs[0], (std::pair<std::int32_t, std::string>{AVENOR_LOG_WARN, "exit code 1"}));

  EXPECT_TRUE(host.problems.empty()) << host.problems.front();
  auto answer = probe.answer_permission({{"session_id", "s1"}, {"request_id", "r"}});
  EXPECT_EQ(host.finished_twice(), std::vector<std::uint64_t>{answer});
  EXPECT_EQ(host.fatals, std::vector<std::string>{"no such request"});
  EXPECT_EQ(host.problems,
            std::vector<std::string>{"operation " + std::to_string(answer) + " finished twice"});
  EXPECT_EQ(host.trace,
            (std::vector<std::string>{
                "emit:probe.bytes", "call:process.run", "emit:probe.data",
                "complete:" + std::to_string(start), "complete:" + std::to_string(turn),
                "emit:probe.timer", "fail:" + std::to_string(cancel),
                "complete:" + std::to_string(answer), "fail:" + std::to_string(answer)}));
}

TEST(PluginDriver, CancelledCallsSettleAsTheHostSettlesThem) {
  Plugin plugin(&probe_entry);
  FakeHost host;
  Instance probe(plugin, host, "probe");
  auto start = probe.start_session();
  probe.cancel("s1");  // cancels call 7
  ASSERT_TRUE(host.find_call(7)->cancelled);
  EXPECT_EQ(host.settle_cancelled(), 1u);
  EXPECT_EQ(host.completed[start], J(R"({"session_id":"failed"})"));
  EXPECT_EQ(host.settle_cancelled(), 0u);
}

TEST(FakeHost, PlaysAnOlderHost) {
  FakeHost old(0);
  EXPECT_EQ(old.api()->struct_size, offsetof(avenor_host_api, call));
  EXPECT_EQ(old.api()->call, nullptr);
  EXPECT_FALSE(old.host().calls().available());
  Plugin plugin(&probe_entry);
  {
    Instance probe(plugin, old, "probe");
    auto start = probe.start_session();
    EXPECT_EQ(old.completed[start], J(R"({"session_id":"old-host"})"));
    probe.feed("x");
    EXPECT_TRUE(old.serialized.empty());
    EXPECT_EQ(old.event_names(), std::vector<std::string>{"probe.bytes"});
  }
  FakeHost v11(1);
  EXPECT_EQ(v11.api()->struct_size, offsetof(avenor_host_api, emit_event_serialized));
  EXPECT_TRUE(v11.host().calls().available());
  EXPECT_EQ(v11.api()->emit_event_serialized, nullptr);
}

TEST(FakeHost, AnswersServiceCallsOfTheCppLayer) {
  FakeHost host;
  std::string data, result;
  auto id = host.host().calls().start(
      "file.read", R"({"path":"/x"})", [&](std::string_view d) { data += d; },
      [&](const avenor::sdk::CallEnd& end) { result = end.text; });
  ASSERT_NE(host.open_call("file.read"), nullptr);
  host.answer_data(id, "ab");
  host.answer(id, J(R"({"exists":false})"));
  EXPECT_EQ(data, "ab");
  EXPECT_EQ(J(result), J(R"({"exists":false})"));
  EXPECT_EQ(host.open_call("file.read"), nullptr);
}

TEST(FakeHost, NotesBrokenPromisesOfSerialisedEvents) {
  FakeHost host;
  const std::string json = R"({"event":"x","seq":1,"usage":{"a":1},"content":{"text":"t"}})";
  const avenor_event e{sizeof(avenor_event), to_abi(json), to_abi("y"), to_abi(""), to_abi("t"), 0};
  host.api()->emit_event_serialized(host.api()->ctx, &e);
  EXPECT_EQ(host.problems, (std::vector<std::string>{
                               "serialised event " + json + ": has envelope key seq",
                               "serialised event " + json + ": event field is \"y\"",
                               "serialised event " + json +
                                   ": AVENOR_EVENT_USAGE flag disagrees with the usage member"}));
  host.api()->complete(host.api()->ctx, 4, to_abi("{nope"));
  EXPECT_EQ(host.problems.size(), 4u);
  EXPECT_TRUE(host.completed.at(4).is_null());
}

#ifdef AVENOR_BUILD_PLUGIN_DIR
// A shipped plugin, loaded from its .so as a third party loads theirs.
TEST(PluginDriver, LoadsABuiltPluginThroughItsEntrySymbol) {
  const std::string path = std::string(AVENOR_BUILD_PLUGIN_DIR) + "/opencode-acp.so";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not built";
  Plugin plugin = Plugin::load(path);
  EXPECT_EQ(plugin.name(), "opencode-acp");
  FakeHost host;
  Instance acp(plugin, host, "opencode-acp", {{"dir", "/work/proj"}});
  EXPECT_EQ(acp.launch_spec().at("argv").as_array().at(0), "opencode");
  auto op = acp.start_session();
  auto sent = host.take_messages();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].at("method"), "initialize");
  acp.close("exit code 1");
  EXPECT_TRUE(host.is_failed(op));
  EXPECT_TRUE(host.problems.empty()) << host.problems.front();
}
#endif

}  // namespace
