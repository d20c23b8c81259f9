#include "pi/ui_dialogs.hpp"

#include <gtest/gtest.h>

#include <avenor/sdk/json.hpp>

namespace {

using namespace avenor::pi;
using avenor::sdk::PermissionAnswer;
namespace bj = boost::json;

bj::object J(std::string_view text) { return avenor::sdk::json::parse(text).as_object(); }
bj::value V(const bj::object& o) { return bj::value(o); }

PermissionAnswer allow(std::string option = {}, std::string message = {}) {
  PermissionAnswer a;
  a.allow = true;
  a.option_id = std::move(option);
  a.message = std::move(message);
  return a;
}

TEST(PiUiDialogs, MethodsAreClassified) {
  for (auto m : {"select", "confirm", "input", "editor"})
    EXPECT_EQ(classify_ui_method(m), UiMethodKind::dialog) << m;
  for (auto m : {"notify", "setStatus", "setWidget", "setTitle", "set_editor_text"})
    EXPECT_EQ(classify_ui_method(m), UiMethodKind::fire_and_forget) << m;
  EXPECT_EQ(classify_ui_method("custom"), UiMethodKind::unknown);
}

TEST(PiUiDialogs, SelectIsACommandRequestWhoseFirstChoiceAllows) {
  ToolContext tool{"bash", J(R"({"command":"ls"})")};
  auto r = dialog_request(J(R"({"type":"extension_ui_request","id":"u1","method":"select",
      "title":"Allow bash?","options":["Allow","Block","Later"],"timeout":10000})"),
                          "s1", &tool);
  ASSERT_TRUE(r);
  EXPECT_EQ(V(r->event), V(J(R"({"event":"permission.request","session_id":"s1",
      "request_id":"u1","ui_request_id":"u1","kind":"command","description":"Allow bash?",
      "question":"Allow bash?","options":[
        {"optionId":"Allow","name":"Allow","kind":"allow"},
        {"optionId":"Block","name":"Block","kind":"reject"},
        {"optionId":"Later","name":"Later","kind":"reject"}],
      "tool":"bash","input":{"command":"ls"},"method":"select","title":"Allow bash?",
      "timeout":10000})")));
  EXPECT_EQ(r->dialog.id, "u1");
  EXPECT_EQ(r->dialog.method, "select");
  EXPECT_EQ(r->dialog.session_id, "s1");
}

TEST(PiUiDialogs, ConfirmOffersYesAndNo) {
  auto r = dialog_request(J(R"({"type":"extension_ui_request","id":"u2","method":"confirm",
      "title":"Run bash?","message":"The agent wants to run ls"})"),
                          "s1", nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->event.at("kind"), "confirm");
  EXPECT_EQ(r->event.at("description"), "The agent wants to run ls");
  EXPECT_EQ(r->event.at("options"), bj::value(J(R"({"o":[{"optionId":"yes","name":"yes",
      "kind":"allow"},{"optionId":"no","name":"no","kind":"reject"}]})")
                                                  .at("o")));
  EXPECT_FALSE(r->event.contains("tool"));
  EXPECT_FALSE(r->event.contains("requires_user_input"));
  // without a message the title is the description
  auto t = dialog_request(J(R"({"id":"u3","method":"confirm","title":"Sure?"})"), "s1", nullptr);
  EXPECT_EQ(t->event.at("description"), "Sure?");
}

TEST(PiUiDialogs, InputAndEditorNeedAPerson) {
  auto input = dialog_request(J(R"({"id":"u4","method":"input","title":"Reason?",
      "placeholder":"type here"})"),
                              "s1", nullptr);
  EXPECT_EQ(input->event.at("kind"), "input");
  EXPECT_EQ(input->event.at("requires_user_input"), true);
  EXPECT_FALSE(input->event.contains("options"));
  EXPECT_FALSE(input->event.contains("default"));
  EXPECT_EQ(input->event.at("placeholder"), "type here");
  auto editor = dialog_request(J(R"({"id":"u5","method":"editor","title":"Edit",
      "prefill":"line 1"})"),
                               "s1", nullptr);
  EXPECT_EQ(editor->event.at("kind"), "input");
  EXPECT_EQ(editor->event.at("default"), "line 1");
  EXPECT_EQ(editor->event.at("requires_user_input"), true);
}

TEST(PiUiDialogs, RequestWithoutIdIsRefused) {
  EXPECT_FALSE(dialog_request(J(R"({"method":"confirm","title":"x"})"), "s1", nullptr));
}

TEST(PiUiDialogs, LargeToolInputIsCutTo4KiB) {
  std::string big(5000, 'x');
  big.replace(4094, 2, "\xC3\xA9");  // a two-byte character across the cut
  ToolContext tool{"write", bj::object{{"content", big}}};
  auto r = dialog_request(J(R"({"id":"u6","method":"confirm","title":"x"})"), "s1", &tool);
  const auto& input = r->event.at("input");
  ASSERT_TRUE(input.is_string());
  std::string text(input.get_string());
  EXPECT_LE(text.size(), kMaxDialogInputBytes + 3);
  EXPECT_EQ(text.substr(text.size() - 3), "...");
  EXPECT_EQ(text.rfind("\xC3"), std::string::npos) << "no half character";
}

Dialog dialog_of(std::string_view request) {
  return dialog_request(J(request), "s1", nullptr)->dialog;
}

TEST(PiUiDialogs, AnswersForEachMethod) {
  Dialog select = dialog_of(R"({"id":"u1","method":"select","title":"t","options":["A","B"]})");
  EXPECT_EQ(V(*dialog_response(select, allow()).response),
            V(J(R"({"type":"extension_ui_response","id":"u1","method":"select","value":"A"})")));
  EXPECT_EQ(V(*dialog_response(select, allow("A")).response).at("value"), "A");

  Dialog confirm = dialog_of(R"({"id":"u2","method":"confirm","title":"t"})");
  EXPECT_EQ(
      V(*dialog_response(confirm, allow("yes")).response),
      V(J(R"({"type":"extension_ui_response","id":"u2","method":"confirm","confirmed":true})")));

  Dialog input = dialog_of(R"({"id":"u3","method":"input","title":"t"})");
  EXPECT_EQ(
      V(*dialog_response(input, allow("", "my text")).response),
      V(J(R"({"type":"extension_ui_response","id":"u3","method":"input","value":"my text"})")));
  EXPECT_EQ(V(*dialog_response(input, allow("submit")).response).at("value"), "submit");
}

TEST(PiUiDialogs, DenyAndCancelDismissTheDialog) {
  Dialog select = dialog_of(R"({"id":"u1","method":"select","title":"t","options":["A","B"]})");
  PermissionAnswer deny;
  deny.option_id = "B";
  auto expected =
      J(R"({"type":"extension_ui_response","id":"u1","method":"select","cancelled":true})");
  EXPECT_EQ(V(*dialog_response(select, deny).response), V(expected));
  PermissionAnswer cancelled = allow("A");
  cancelled.cancelled = true;
  EXPECT_EQ(V(*dialog_response(select, cancelled).response), V(expected));
  EXPECT_EQ(V(cancelled_response(select)), V(expected));
}

TEST(PiUiDialogs, AllowNamingAMissingOrRejectingOptionIsAnError) {
  Dialog select = dialog_of(R"({"id":"u1","method":"select","title":"t","options":["A","B"]})");
  auto missing = dialog_response(select, allow("Z"));
  EXPECT_FALSE(missing.response);
  EXPECT_EQ(missing.error, "permission option not found: Z");
  auto wrong = dialog_response(select, allow("B"));
  EXPECT_FALSE(wrong.response);
  EXPECT_EQ(wrong.error, "permission option B is of kind reject, not allow");
  Dialog empty = dialog_of(R"({"id":"u9","method":"select","title":"t","options":[]})");
  EXPECT_EQ(dialog_response(empty, allow()).error, "permission request has no allow option");
}

}  // namespace
