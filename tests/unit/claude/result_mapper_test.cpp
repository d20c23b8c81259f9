#include "claude/result_mapper.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

using namespace avenor::claude;
namespace json = avenor::sdk::json;

boost::json::object J(std::string_view text) { return json::parse(text).as_object(); }

// Recorded from claude 2.1.197 (docs/backends/claude.md).
constexpr std::string_view kSuccess =
    R"({"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"Hello there friend","stop_reason":"end_turn","session_id":"S","total_cost_usd":0.000075,"usage":{"input_tokens":10,"cache_creation_input_tokens":2,"cache_read_input_tokens":5,"output_tokens":3},"terminal_reason":"completed"})";
constexpr std::string_view kInterrupted =
    R"({"type":"result","subtype":"error_during_execution","is_error":true,"num_turns":2,"stop_reason":null,"session_id":"S","total_cost_usd":0,"usage":{"input_tokens":0,"output_tokens":0},"terminal_reason":"aborted_streaming","errors":["[ede_diagnostic] result_type=user"]})";
constexpr std::string_view kApiError =
    R"({"type":"result","subtype":"success","is_error":true,"api_error_status":500,"num_turns":1,"result":"API Error: 500 injected failure.","stop_reason":"stop_sequence","session_id":"S","total_cost_usd":0,"usage":{"input_tokens":0,"output_tokens":0},"terminal_reason":"completed"})";

TEST(ClaudeResult, SuccessBecomesEndTurnWithUsageAndCost) {
  TurnEnd end = TurnEnd::from_result(J(kSuccess), false);
  EXPECT_EQ(end.result, TurnResult::success);
  auto e = end.session_end("S");
  EXPECT_EQ(e.at("stop_reason"), "end_turn");
  EXPECT_EQ(e.at("final_output"), "Hello there friend");
  EXPECT_EQ(e.at("usage"), json::parse(R"({"input_tokens":17,"output_tokens":3,
      "total_tokens":20,"cached_read_tokens":5})"));
  EXPECT_DOUBLE_EQ(e.at("total_cost_usd").as_double(), 0.000075);
  EXPECT_EQ(e.at("num_turns"), 1);
  EXPECT_FALSE(e.contains("error_message"));
}

TEST(ClaudeResult, InterruptedIsCancelled) {
  EXPECT_EQ(TurnEnd::from_result(J(kInterrupted), true).stop_reason, "cancelled");
  // aborted_* says so even without our interrupt (claude's own abort)
  EXPECT_EQ(TurnEnd::from_result(J(kInterrupted), false).result, TurnResult::cancelled);
  // a turn that finished before the interrupt landed stays a success
  EXPECT_EQ(TurnEnd::from_result(J(kSuccess), true).stop_reason, "end_turn");
}

TEST(ClaudeResult, ApiErrorIsAnError) {
  TurnEnd end = TurnEnd::from_result(J(kApiError), false);
  EXPECT_EQ(end.result, TurnResult::error);
  EXPECT_EQ(end.stop_reason, "error");
  EXPECT_EQ(end.error_message, "API Error: 500 injected failure.");
  EXPECT_FALSE(end.session_end("S").contains("final_output"));
}

TEST(ClaudeResult, OtherStopReasons) {
  auto with = [](std::string_view fields) {
    return TurnEnd::from_result(
        J(std::string(R"({"type":"result","subtype":"success","is_error":false,)") +
          std::string(fields) + "}"),
        false);
  };
  EXPECT_EQ(with(R"("stop_reason":"max_tokens")").stop_reason, "max_tokens");
  EXPECT_EQ(with(R"("stop_reason":null)").stop_reason, "end_turn");
  EXPECT_EQ(with(R"("stop_reason":"stop_sequence")").stop_reason, "end_turn");
  TurnEnd turns = TurnEnd::from_result(
      J(R"({"type":"result","subtype":"error_max_turns","is_error":true})"), false);
  EXPECT_EQ(turns.stop_reason, "max_turn_requests");
  EXPECT_EQ(turns.result, TurnResult::success);
  TurnEnd bare = TurnEnd::from_result(
      J(R"({"type":"result","subtype":"error_during_execution","is_error":true,"errors":["a","b"]})"),
      false);
  EXPECT_EQ(bare.error_message, "a; b");
}

}  // namespace
