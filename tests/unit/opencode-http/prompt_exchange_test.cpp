#include "opencode-http/prompt_exchange.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

#include "opencode-http/stop_reason.hpp"

namespace {

namespace oh = avenor::opencode_http;
namespace json = avenor::sdk::json;

TEST(PromptExchange, ModelIsSplitAtTheFirstSlash) {
  EXPECT_FALSE(oh::split_model(""));
  auto m = oh::split_model("fake/fake-model");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->provider_id, "fake");
  EXPECT_EQ(m->model_id, "fake-model");
  m = oh::split_model("openrouter/anthropic/claude");
  EXPECT_EQ(m->provider_id, "openrouter");
  EXPECT_EQ(m->model_id, "anthropic/claude");
  m = oh::split_model("bare");
  EXPECT_EQ(m->provider_id, "");
  EXPECT_EQ(m->model_id, "bare");
}

TEST(PromptExchange, Body) {
  EXPECT_EQ(json::dump(oh::prompt_body("hi", "", "")),
            R"({"parts":[{"type":"text","text":"hi"}]})");
  auto b = oh::prompt_body("hi", "p/m", "plan");
  EXPECT_EQ(json::dump(b.at("model")), R"({"modelID":"m","providerID":"p"})");
  EXPECT_EQ(b.at("agent"), "plan");
  EXPECT_EQ(json::dump(oh::prompt_body("x", "m", "").at("model")), R"({"modelID":"m"})");
}

TEST(PromptExchange, FinishedResponse) {
  auto r = oh::parse_prompt_response(R"({"info":{"finish":"stop","tokens":{"total":13,"input":10,
      "output":3,"reasoning":0,"cache":{"write":0,"read":4}}},"parts":[{"type":"step-start"},
      {"type":"text","text":"OC-FAKE-"},{"type":"text","text":"x","synthetic":true},
      {"type":"text","text":"REPLY"},{"type":"step-finish"}]})");
  EXPECT_EQ(r.stop_reason, "end_turn");
  EXPECT_EQ(r.text, "OC-FAKE-REPLY");
  ASSERT_TRUE(r.usage);
  EXPECT_EQ(json::dump(*r.usage),
            R"({"input_tokens":10,"output_tokens":3,"total_tokens":13,"cached_read_tokens":4})");
}

TEST(PromptExchange, ErrorWinsOverFinish) {
  auto r = oh::parse_prompt_response(
      R"({"info":{"finish":"stop","error":{"name":"MessageAbortedError","data":{"message":"Aborted"}}},"parts":[]})");
  EXPECT_EQ(r.stop_reason, "cancelled");
  EXPECT_EQ(r.error_name, "MessageAbortedError");
  EXPECT_EQ(r.error_message, "Aborted");
  r = oh::parse_prompt_response(R"({"info":{"error":{"name":"ProviderAuthError"}}})");
  EXPECT_EQ(r.stop_reason, "ProviderAuthError");
}

TEST(PromptExchange, FinishValues) {
  EXPECT_EQ(oh::parse_prompt_response(R"({"info":{}})").stop_reason, "");
  EXPECT_EQ(oh::parse_prompt_response(R"({"info":{"finish":"tool-calls"}})").stop_reason,
            "end_turn");
  EXPECT_EQ(oh::parse_prompt_response(R"({"info":{"finish":"length"}})").stop_reason, "length");
  EXPECT_THROW(oh::parse_prompt_response("[]"), std::runtime_error);
  EXPECT_THROW(oh::parse_prompt_response("not json"), std::runtime_error);
}

TEST(PromptExchange, UsageTotalDefaultsToInputPlusOutput) {
  EXPECT_EQ(json::dump(oh::normalize_usage(boost::json::object{{"input", 2}, {"output", 5}})),
            R"({"input_tokens":2,"output_tokens":5,"total_tokens":7,"cached_read_tokens":0})");
}

TEST(StopReason, Names) {
  EXPECT_EQ(oh::stop_reason_for_error("MessageAbortedError"), "cancelled");
  EXPECT_EQ(oh::stop_reason_for_error("APIError"), "APIError");
  EXPECT_EQ(oh::stop_reason_for_finish("stop"), "end_turn");
  EXPECT_EQ(oh::stop_reason_for_finish(""), "");
  EXPECT_EQ(oh::stop_reason_for_finish("content-filter"), "content-filter");
}

}  // namespace
