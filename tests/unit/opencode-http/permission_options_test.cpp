#include "opencode-http/permission_options.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

namespace oh = avenor::opencode_http;
namespace json = avenor::sdk::json;
using avenor::sdk::PermissionAnswer;

PermissionAnswer answer(bool allow, std::string option = {}) {
  PermissionAnswer a;
  a.allow = allow;
  a.option_id = std::move(option);
  return a;
}

TEST(PermissionOptions, Synthesized) {
  EXPECT_EQ(json::dump(oh::synthesized_options("per_1", true)),
            R"([{"optionId":"reject","kind":"reject","name":"Reject"},)"
            R"({"optionId":"allow_once","kind":"allow_once","name":"Allow once"},)"
            R"({"optionId":"per_1","kind":"allow_once","name":"Allow this request"},)"
            R"({"optionId":"allow_always","kind":"allow_always","name":"Always allow"}])");
  EXPECT_EQ(oh::synthesized_options("per_1", false).size(), 3u);
}

TEST(PermissionOptions, RepliesByOption) {
  auto options = oh::synthesized_options("per_1", true);
  EXPECT_EQ(oh::choose_reply(options, answer(true)).reply, "once");
  EXPECT_EQ(oh::choose_reply(options, answer(false)).reply, "reject");
  EXPECT_EQ(oh::choose_reply(options, answer(true, "allow_always")).reply, "always");
  EXPECT_EQ(oh::choose_reply(options, answer(true, "per_1")).reply, "once");
  EXPECT_EQ(oh::choose_reply(options, answer(false, "reject")).reply, "reject");
  PermissionAnswer cancelled;
  cancelled.cancelled = true;
  EXPECT_EQ(oh::choose_reply(options, cancelled).reply, "reject");
}

TEST(PermissionOptions, RefusesOptionsThatDoNotFit) {
  auto options = oh::synthesized_options("per_1", false);
  auto r = oh::choose_reply(options, answer(true, "reject"));
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, "permission option reject is of kind reject, not allow");
  EXPECT_EQ(oh::choose_reply(options, answer(true, "allow_always")).error,
            "permission option not found: allow_always");
  boost::json::array only_allow{boost::json::object{{"optionId", "ok"}, {"kind", "allow"}}};
  EXPECT_EQ(oh::choose_reply(only_allow, answer(false)).error,
            "permission request has no reject option");
  // An option named "always" of an allow kind (a server-provided list) is "always".
  boost::json::array server{boost::json::object{{"optionId", "always"}, {"kind", "allow_always"}}};
  EXPECT_EQ(oh::choose_reply(server, answer(true, "always")).reply, "always");
}

TEST(PermissionOptions, FallbackBody) {
  EXPECT_EQ(json::dump(oh::fallback_reply_body("always")),
            R"({"reply":"always","response":"always","remember":true})");
  EXPECT_EQ(json::dump(oh::fallback_reply_body("once")),
            R"({"reply":"once","response":"once","remember":false})");
}

}  // namespace
