// The run's control state: bounded final_output, event fan-out with lag
// counting, per-runtime history and the status snapshot rules
// (control.md §7–§8).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "control/bounded_output.hpp"
#include "control/control_plane.hpp"
#include "control/event_history.hpp"
#include "control/event_hub.hpp"
#include "control/status_snapshot.hpp"

namespace avenor::host {
namespace {

using boost::json::object;

SharedEvent shared(object o) { return std::make_shared<const object>(std::move(o)); }

TEST(ControlBoundedOutput, CutsAtRunesNotBytes) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "\xc3\xa9";  // é
  object e{{"event", "session.end"}, {"final_output", text}};
  bound_final_output(e);
  EXPECT_EQ(e["final_output"].as_string().size(), 4096u * 2);
  EXPECT_EQ(e["final_output_truncated"], true);
}

TEST(ControlBoundedOutput, ShortTextIsUntouched) {
  object e{{"event", "session.end"}, {"final_output", std::string(4096, 'x')}};
  bound_final_output(e);
  EXPECT_EQ(e["final_output"].as_string().size(), 4096u);
  EXPECT_FALSE(e.contains("final_output_truncated"));
}

TEST(ControlBoundedOutput, PrefixCountsFourByteRunes) {
  EXPECT_EQ(utf8_prefix_bytes("\xf0\x9f\x98\x80"
                              "ab",
                              1),
            4u);
  EXPECT_EQ(utf8_prefix_bytes("ab", 5), 2u);
  EXPECT_EQ(utf8_prefix_bytes("\xff\xfe", 1), 1u);  // a malformed byte is one rune
}

TEST(ControlEventHub, SlowSubscriberLosesOldestAndCountsThem) {
  boost::asio::io_context io;
  EventHub hub(io.get_executor());
  auto sub = hub.subscribe("", 3);
  for (int i = 1; i <= 5; ++i) hub.publish(shared({{"event", "x"}, {"seq", i}}));
  EXPECT_EQ(sub->take_dropped(), 2u);
  EXPECT_EQ(sub->take_dropped(), 0u);
  EXPECT_EQ(sub->pop()->at("seq"), 3);
  EXPECT_EQ(sub->pop()->at("seq"), 4);
  EXPECT_EQ(sub->pop()->at("seq"), 5);
  EXPECT_TRUE(sub->empty());
}

TEST(ControlEventHub, RuntimeFilterAndPruning) {
  boost::asio::io_context io;
  EventHub hub(io.get_executor());
  auto only = hub.subscribe("rt_1");
  { auto gone = hub.subscribe(""); }
  hub.publish(shared({{"event", "a"}, {"runtime_id", "rt_2"}}));
  hub.publish(shared({{"event", "b"}, {"runtime_id", "rt_1"}}));
  hub.publish(shared({{"event", "c"}}));
  ASSERT_FALSE(only->empty());
  EXPECT_EQ(only->pop()->at("event"), "b");
  EXPECT_TRUE(only->empty());
}

TEST(ControlEventHistory, KeepsLast256PerRuntimeAndLatestSeq) {
  EventHistory h;
  for (int i = 1; i <= 300; ++i)
    h.record(shared({{"event", "x"}, {"seq", i}, {"runtime_id", "r"}}));
  h.record(shared({{"event", "y"}, {"seq", 1}}));  // no runtime id: not kept
  auto all = h.events("r", 0, 0);
  ASSERT_EQ(all.size(), 256u);
  EXPECT_EQ(all.front()->at("seq"), 45);
  EXPECT_EQ(h.latest_seq("r"), 300);
  auto tail = h.events("r", 290, 5);
  ASSERT_EQ(tail.size(), 5u);
  EXPECT_EQ(tail.front()->at("seq"), 296);
  EXPECT_TRUE(h.events("", 0, 0).empty());
  EXPECT_EQ(h.latest_seq("nope"), 0);
}

TEST(ControlStatusSnapshot, TurnStateRules) {
  StatusSnapshot s("run", "");
  EXPECT_FALSE(s.to_json().contains("turn_state"));
  s.observe({{"event", "agent.message_chunk"}, {"seq", 1}});
  EXPECT_EQ(s.turn_state(), "running");  // from empty
  s.observe({{"event", "session.start"}, {"seq", 2}});
  EXPECT_EQ(s.turn_state(), "starting");
  s.observe({{"event", "tool.call"}, {"seq", 3}});
  EXPECT_EQ(s.turn_state(), "running");
  s.set_turn_state("idle");  // a prompt was queued
  s.observe({{"event", "session.end"}, {"seq", 4}, {"stop_reason", "end_turn"}});
  EXPECT_EQ(s.turn_state(), "idle");
  s.set_turn_state("running");
  s.observe({{"event", "session.end"}, {"seq", 5}});
  EXPECT_EQ(s.turn_state(), "ended");
  s.set_turn_state("cancelling");
  s.observe({{"event", "session.end"}, {"seq", 6}});
  EXPECT_EQ(s.turn_state(), "cancelling");
}

TEST(ControlStatusSnapshot, FieldsAndPermission) {
  StatusSnapshot s("run-1", "label");
  auto j = s.to_json();
  EXPECT_EQ(j["run_id"], "run-1");
  EXPECT_EQ(j["run_label"], "label");
  EXPECT_EQ(j["pending_permission"], false);
  EXPECT_TRUE(j.contains("started_at"));
  EXPECT_TRUE(j.contains("updated_at"));
  EXPECT_FALSE(j.contains("session_id"));
  EXPECT_FALSE(j.contains("parked"));

  s.set_retry(1, 0);
  s.observe({{"event", "agent.status"},
             {"phase", "waiting"},
             {"label", "ls"},
             {"seq", 7},
             {"session_id", "ses"}});
  s.observe({{"event", "permission.request"}, {"request_id", "0"}, {"seq", 8}});
  j = s.to_json();
  EXPECT_EQ(j["phase"], "waiting");
  EXPECT_EQ(j["phase_label"], "ls");
  EXPECT_EQ(j["session_id"], "ses");
  EXPECT_EQ(j["retry_attempt"], 1);
  EXPECT_FALSE(j.contains("max_retries"));
  EXPECT_EQ(j["pending_permission"], true);
  EXPECT_EQ(j["permission"].as_object().at("request_id"), "0");
  EXPECT_EQ(j["latest_seq"], 8);
  EXPECT_EQ(j["last_event"], "permission.request");
  s.observe({{"event", "permission.response"}, {"seq", 9}});
  j = s.to_json();
  EXPECT_EQ(j["pending_permission"], false);
  EXPECT_FALSE(j.contains("permission"));
}

TEST(ControlStatusSnapshot, FinalOutputFullForResultBoundedForStatus) {
  StatusSnapshot s("r", "");
  std::string big(5000, 'z');
  s.observe({{"event", "session.end"}, {"final_output", big}, {"seq", 1}});
  EXPECT_EQ(s.final_output(), big);
  auto j = s.to_json();
  EXPECT_EQ(j["final_output"].as_string().size(), 4096u);
  EXPECT_EQ(j["final_output_truncated"], true);
}

TEST(ControlPlane, PublishFeedsSnapshotHistoryAndSubscribersWithBoundedOutput) {
  boost::asio::io_context io;
  ControlPlane plane(io.get_executor(), "run", "", "tok");
  auto sub = plane.hub().subscribe("");
  plane.publish({{"event", "session.end"},
                 {"final_output", std::string(5000, 'q')},
                 {"seq", 3},
                 {"runtime_id", "rt"}});
  EXPECT_EQ(plane.final_output().size(), 5000u);
  auto e = sub->pop();
  EXPECT_EQ(e->at("final_output").as_string().size(), 4096u);
  EXPECT_EQ(plane.history().events("rt", 0, 0).size(), 1u);
  EXPECT_EQ(plane.identity_token(), "tok");
}

TEST(ControlPlane, LastClientGoneRunsHandlerOnce) {
  boost::asio::io_context io;
  ControlPlane plane(io.get_executor(), "run", "", "");
  int calls = 0;
  plane.on_all_clients_gone([&] { ++calls; });
  plane.client_connected();
  plane.client_connected();
  plane.client_disconnected();
  EXPECT_EQ(calls, 0);
  plane.client_disconnected();
  EXPECT_EQ(calls, 1);
  plane.client_disconnected();  // not below zero
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace avenor::host
