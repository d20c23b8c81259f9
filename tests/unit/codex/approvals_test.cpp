#include "codex/approvals.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

namespace bj = boost::json;
using avenor::codex::approval_kind;
using avenor::codex::ApprovalBook;
using avenor::codex::ApprovalKind;
using avenor::codex::ApprovalResponse;
using avenor::sdk::PermissionAnswer;

bj::value J(std::string_view text) { return avenor::sdk::json::parse(text); }
bj::object O(std::string_view text) { return J(text).as_object(); }

const bj::array kOptions = J(R"([{"optionId":"reject","kind":"reject"},)"
                             R"({"optionId":"allow","kind":"allow"}])")
                               .as_array();

// As codex 0.169.0 sent it for a require_escalated exec_command.
constexpr std::string_view kCommandParams =
    R"({"kind":"command","threadId":"thr_1","turnId":"turn_1","itemId":"call_fake1",)"
    R"("startedAtMs":1,"reason":"Need to print the marker",)"
    R"("command":"/bin/bash -lc \"printf hi\"","cwd":"/p","availableDecisions":["accept","cancel"]})";

PermissionAnswer answer(std::string request_id, bool allow, std::string option_id = {}) {
  PermissionAnswer a;
  a.session_id = "thr_1";
  a.request_id = std::move(request_id);
  a.allow = allow;
  a.option_id = std::move(option_id);
  return a;
}

TEST(CodexApprovals, Kinds) {
  EXPECT_EQ(approval_kind("item/commandExecution/requestApproval"), ApprovalKind::command);
  EXPECT_EQ(approval_kind("item/fileChange/requestApproval"), ApprovalKind::file);
  EXPECT_EQ(approval_kind("item/permissions/requestApproval"), ApprovalKind::permissions);
  EXPECT_FALSE(approval_kind("item/tool/requestUserInput"));
  EXPECT_FALSE(approval_kind("execCommandApproval"));
}

TEST(CodexApprovals, CommandRequestBecomesAPermissionRequest) {
  ApprovalBook book;
  auto opened = book.open(bj::value(0), "item/commandExecution/requestApproval", J(kCommandParams));
  auto* event = std::get_if<bj::object>(&opened);
  ASSERT_TRUE(event);
  EXPECT_EQ(*event, O(R"({"event":"permission.request","session_id":"thr_1","request_id":"0",)"
                      R"("kind":"command","tool":"item/commandExecution/requestApproval",)"
                      R"("options":[{"optionId":"reject","kind":"reject"},)"
                      R"({"optionId":"allow","kind":"allow"}],"turn_id":"turn_1",)"
                      R"("item_id":"call_fake1","command":"/bin/bash -lc \"printf hi\"",)"
                      R"("message":"Need to print the marker",)"
                      R"("description":"/bin/bash -lc \"printf hi\""})"));
  EXPECT_EQ(book.pending(), 1u);

  auto decided = book.answer(answer("0", true));
  auto* response = std::get_if<ApprovalResponse>(&decided);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->rpc_id, bj::value(0));
  EXPECT_EQ(response->result, O(R"({"decision":"accept"})"));
  EXPECT_EQ(book.pending(), 0u);
  EXPECT_EQ(std::get<std::string>(book.answer(answer("0", true))),
            "unknown permission request_id: 0");
}

TEST(CodexApprovals, DeclineAndOptionChecks) {
  ApprovalBook book;
  book.open(bj::value("req-7"), "item/commandExecution/requestApproval", J(kCommandParams));
  EXPECT_EQ(std::get<std::string>(book.answer(answer("req-7", true, "reject"))),
            "permission option reject is of kind reject, not allow");
  EXPECT_EQ(std::get<std::string>(book.answer(answer("req-7", true, "always"))),
            "permission option not found: always");
  auto other_session = answer("req-7", false);
  other_session.session_id = "thr_2";
  EXPECT_EQ(std::get<std::string>(book.answer(other_session)),
            "unknown permission request_id: req-7");
  auto decided = book.answer(answer("req-7", false, "reject"));
  auto& response = std::get<ApprovalResponse>(decided);
  EXPECT_EQ(response.rpc_id, bj::value("req-7"));
  EXPECT_EQ(response.result, O(R"({"decision":"decline"})"));
}

TEST(CodexApprovals, CancelledAnswerDeclines) {
  ApprovalBook book;
  book.open(bj::value(3), "item/commandExecution/requestApproval", J(kCommandParams));
  auto a = answer("3", false);
  a.cancelled = true;
  EXPECT_EQ(std::get<ApprovalResponse>(book.answer(a)).result, O(R"({"decision":"decline"})"));
}

TEST(CodexApprovals, FileChangeIsDescribedByTheItemsPaths) {
  ApprovalBook book;
  book.observe_item_started(
      O(R"({"threadId":"thr_1","turnId":"turn_1","item":{"type":"fileChange",)"
        R"("id":"call_fake1","changes":[{"path":"/p/hello.txt",)"
        R"("kind":{"type":"add"},"diff":"hi\n"}],"status":"inProgress"}})"));
  auto opened = book.open(bj::value(0), "item/fileChange/requestApproval",
                          J(R"({"threadId":"thr_1","turnId":"turn_1","itemId":"call_fake1",)"
                            R"("startedAtMs":1,"reason":null,"grantRoot":null})"));
  auto& event = std::get<bj::object>(opened);
  EXPECT_EQ(event["kind"], "file");
  EXPECT_EQ(event["path"], "/p/hello.txt");
  EXPECT_EQ(event["description"], "/p/hello.txt");
  EXPECT_FALSE(event.contains("message"));
  EXPECT_EQ(std::get<ApprovalResponse>(book.answer(answer("0", true))).result,
            O(R"({"decision":"accept"})"));
}

TEST(CodexApprovals, PermissionsAreGrantedOrWithheld) {
  ApprovalBook book;
  constexpr std::string_view params =
      R"({"threadId":"thr_1","turnId":"turn_1","itemId":"p1","cwd":"/p","startedAtMs":1,)"
      R"("reason":"needs network","permissions":{"network":{"enabled":true}}})";
  auto opened = book.open(bj::value(1), "item/permissions/requestApproval", J(params));
  auto& event = std::get<bj::object>(opened);
  EXPECT_EQ(event["kind"], "permissions");
  EXPECT_EQ(event["description"], "needs network");
  EXPECT_EQ(event["permissions"], O(R"({"network":{"enabled":true}})"));
  EXPECT_EQ(std::get<ApprovalResponse>(book.answer(answer("1", true))).result,
            O(R"({"permissions":{"network":{"enabled":true}},"scope":"turn"})"));
  book.open(bj::value(2), "item/permissions/requestApproval", J(params));
  EXPECT_EQ(std::get<ApprovalResponse>(book.answer(answer("2", false))).result,
            O(R"({"permissions":{},"scope":"turn"})"));
  // with a summary, the summary describes it
  auto summarized = book.open(bj::value(4), "item/permissions/requestApproval",
                              J(R"({"threadId":"t","summary":"Allow network","reason":"r"})"));
  EXPECT_EQ(std::get<bj::object>(summarized)["description"], "Allow network");
}

TEST(CodexApprovals, BadParams) {
  ApprovalBook book;
  EXPECT_EQ(std::get<std::string>(
                book.open(bj::value(1), "item/commandExecution/requestApproval", J("[1]"))),
            "item/commandExecution/requestApproval params must be an object");
  EXPECT_EQ(std::get<std::string>(
                book.open(bj::value(1), "item/fileChange/requestApproval", J(R"({"itemId":"x"})"))),
            "item/fileChange/requestApproval params need a string threadId");
  EXPECT_EQ(book.pending(), 0u);
}

TEST(CodexApprovals, DiscardTurnDropsOnlyThatTurn) {
  ApprovalBook book;
  book.open(bj::value(1), "item/commandExecution/requestApproval", J(kCommandParams));
  book.open(bj::value(2), "item/commandExecution/requestApproval",
            J(R"({"threadId":"thr_1","turnId":"turn_2","command":"ls"})"));
  book.discard_turn("thr_1", "turn_1");
  EXPECT_EQ(book.pending(), 1u);
  EXPECT_TRUE(std::holds_alternative<std::string>(book.answer(answer("1", true))));
  EXPECT_TRUE(std::holds_alternative<ApprovalResponse>(book.answer(answer("2", true))));
}

}  // namespace
