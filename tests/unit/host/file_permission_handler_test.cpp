#include "permissions/file_permission_handler.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <sstream>

#include "test_support.hpp"
#include "util/json_text.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using sdk::OptionKind;
using test::run_until;

bj::object request_event() {
  return bj::parse(R"({
    "event": "permission.request", "session_id": "ses_1", "request_id": "17", "tool": "bash",
    "question": "Run command?",
    "options": [{"optionId": "allow", "kind": "allow"},
                {"optionId": "deny", "kind": "reject", "requiresMessage": false},
                {"optionId": "explain", "kind": "reject_once", "requiresMessage": true},
                {"optionId": "weird", "kind": "ask_later"}],
    "toolCall": {"title": "bash"}
  })")
      .as_object();
}

class FilePermissionHandlerTest : public ::testing::Test {
 protected:
  FilePermissionHandlerTest() : handler_(io_.get_executor(), dir_ / "run.perm", 10s, 5ms) {}

  std::filesystem::path req() const { return dir_ / "run.perm.req"; }
  std::filesystem::path resp() const { return dir_ / "run.perm.req.response"; }

  void begin(const bj::object& event = request_event()) {
    handler_.begin(
        event, [this](FileAnswer a) { answer_ = std::move(a); },
        [this](std::string e) { error_ = std::move(e); });
    EXPECT_FALSE(answer_ || error_) << "callback ran inside begin()";
  }

  // Publishes a response the way real writers do (write elsewhere, rename).
  void respond(const std::string& json) {
    test::write_file(dir_ / "staging", json);
    std::filesystem::rename(dir_ / "staging", resp());
  }

  void wait_result() {
    ASSERT_TRUE(run_until(io_, [this] { return answer_.has_value() || error_.has_value(); }))
        << "handler produced neither an answer nor an error";
  }

  std::string expect_error() {
    wait_result();
    EXPECT_FALSE(answer_.has_value());
    EXPECT_FALSE(std::filesystem::exists(req())) << ".req must be deleted on error";
    return error_.value_or("");
  }

  test::TempDir dir_;
  boost::asio::io_context io_;
  FilePermissionHandler handler_;
  std::optional<FileAnswer> answer_;
  std::optional<std::string> error_;
};

TEST_F(FilePermissionHandlerTest, AnnouncesThePublishedRequestOnce) {
  std::ostringstream notices;
  handler_.set_notices(&notices);
  begin();
  // Printed only once the request file exists, so the command works at once.
  EXPECT_TRUE(std::filesystem::exists(req()));
  const std::string text = notices.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_TRUE(text.starts_with("avenor: permission 17 pending: bash — options: allow (allow), "))
      << text;
  EXPECT_NE(
      text.find("answer with: avenor answer " + (dir_ / "run.perm").string() + " --option <id>\n"),
      std::string::npos)
      << text;
  respond(R"({"option_id":"allow"})");
  wait_result();
  EXPECT_EQ(notices.str(), text) << "an answer prints nothing more";
}

TEST_F(FilePermissionHandlerTest, WritesPrettyRequestFile) {
  begin();
  EXPECT_EQ(test::read_file(req()), R"({
  "request_id": "17",
  "session_id": "ses_1",
  "tool": "bash",
  "question": "Run command?",
  "options": [
    {
      "optionId": "allow",
      "kind": "allow"
    },
    {
      "optionId": "deny",
      "kind": "reject",
      "requiresMessage": false
    },
    {
      "optionId": "explain",
      "kind": "reject_once",
      "requiresMessage": true
    },
    {
      "optionId": "weird",
      "kind": "ask_later"
    }
  ],
  "payload": {
    "request_id": "17",
    "tool": "bash",
    "question": "Run command?",
    "options": [
      {
        "optionId": "allow",
        "kind": "allow"
      },
      {
        "optionId": "deny",
        "kind": "reject",
        "requiresMessage": false
      },
      {
        "optionId": "explain",
        "kind": "reject_once",
        "requiresMessage": true
      },
      {
        "optionId": "weird",
        "kind": "ask_later"
      }
    ],
    "toolCall": {
      "title": "bash"
    }
  }
}
)");
  struct stat st {};
  ASSERT_EQ(::stat(req().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(dir_.entries(), std::vector<std::string>{"run.perm.req"});  // no temp left
}

TEST_F(FilePermissionHandlerTest, RequestDocumentFallbacksAndOmissions) {
  bj::object e = bj::parse(R"({"event":"permission.request","request_id":"9","session_id":"",
                               "message":"Allow?","options":[],"empty":{}})")
                     .as_object();
  bj::object doc = FilePermissionHandler::request_document(e);
  EXPECT_EQ(to_pretty_json(doc), R"({
  "request_id": "9",
  "question": "Allow?",
  "options": [],
  "payload": {
    "request_id": "9",
    "message": "Allow?",
    "options": [],
    "empty": {}
  }
})");
  e["request_id"] = 42;  // a numeric id is kept as its JSON text
  EXPECT_EQ(FilePermissionHandler::request_document(e).at("request_id"), "42");
  e["request_id"] = "";
  EXPECT_THROW(FilePermissionHandler::request_document(e), std::runtime_error);
}

TEST_F(FilePermissionHandlerTest, AnswerSelected) {
  begin();
  respond(R"({"outcome":"selected","option_id":"allow","message":""})");
  wait_result();
  ASSERT_TRUE(answer_.has_value()) << error_.value_or("");
  EXPECT_FALSE(answer_->cancelled);
  EXPECT_EQ(answer_->option_id, "allow");
  EXPECT_EQ(answer_->kind, OptionKind::allow);
  // Both files are kept after an answer.
  EXPECT_TRUE(std::filesystem::exists(req()));
  EXPECT_TRUE(std::filesystem::exists(resp()));
  EXPECT_FALSE(handler_.pending());
}

TEST_F(FilePermissionHandlerTest, MissingOutcomeMeansSelectedAndRejectKindsMap) {
  begin();
  respond(R"({"option_id":"deny","message":null})");
  wait_result();
  ASSERT_TRUE(answer_.has_value()) << error_.value_or("");
  EXPECT_EQ(answer_->kind, OptionKind::reject);
  EXPECT_EQ(answer_->message, "");
}

TEST_F(FilePermissionHandlerTest, AnswerCancelled) {
  begin();
  respond(R"({"outcome":"cancelled","option_id":"","message":""})");
  wait_result();
  ASSERT_TRUE(answer_.has_value()) << error_.value_or("");
  EXPECT_TRUE(answer_->cancelled);
}

TEST_F(FilePermissionHandlerTest, EmptyFileIsNotReady) {
  begin();
  test::write_file(resp(), "");
  test::run_for(io_, 60ms);  // many poll ticks
  EXPECT_FALSE(answer_ || error_);
  EXPECT_TRUE(handler_.pending());
  respond(R"({"outcome":"selected","option_id":"allow","message":"go"})");
  wait_result();
  ASSERT_TRUE(answer_.has_value()) << error_.value_or("");
  EXPECT_EQ(answer_->message, "go");
}

TEST_F(FilePermissionHandlerTest, StaleResponseIsDeletedFirst) {
  test::write_file(resp(), R"({"outcome":"selected","option_id":"allow"})");
  begin();
  EXPECT_FALSE(std::filesystem::exists(resp()));
  test::run_for(io_, 30ms);
  EXPECT_FALSE(answer_ || error_);
}

TEST_F(FilePermissionHandlerTest, AFifoResponseIsAnErrorNotAHang) {
  begin();
  ASSERT_EQ(::mkfifo(resp().c_str(), 0600), 0);  // no writer: a blocking open would hang
  EXPECT_EQ(expect_error(),
            "read permission response: " + resp().string() + " is not a regular file");
  EXPECT_TRUE(std::filesystem::is_fifo(resp())) << "someone else's FIFO stays";
}

TEST_F(FilePermissionHandlerTest, ALinkToDevZeroIsAnErrorNotAFlood) {
  begin();
  std::filesystem::create_symlink("/dev/zero", resp());
  EXPECT_EQ(expect_error(),
            "read permission response: " + resp().string() + " is not a regular file");
}

TEST_F(FilePermissionHandlerTest, AnOversizeResponseIsAnError) {
  begin();
  respond(std::string(1024 * 1024 + 1, ' '));
  EXPECT_EQ(expect_error(),
            "read permission response: " + resp().string() + " is larger than 1048576 bytes");
}

TEST_F(FilePermissionHandlerTest, AStaleFifoIsNeverDeleted) {
  ASSERT_EQ(::mkfifo(resp().c_str(), 0600), 0);
  begin();
  const std::string error = expect_error();
  EXPECT_EQ(error, "refusing to remove " + resp().string() + ": not a regular file");
  EXPECT_TRUE(std::filesystem::is_fifo(resp()));
}

TEST_F(FilePermissionHandlerTest, AFifoAtTheRequestPathIsNeverReplaced) {
  ASSERT_EQ(::mkfifo(req().c_str(), 0600), 0);
  begin();
  wait_result();
  ASSERT_TRUE(error_.has_value());
  EXPECT_EQ(error_->rfind("refusing to replace " + req().string() + ": not a regular file", 0), 0u)
      << *error_;
  EXPECT_TRUE(std::filesystem::is_fifo(req()));
  EXPECT_EQ(dir_.entries(), std::vector<std::string>{"run.perm.req"}) << "no temp file left";
}

TEST_F(FilePermissionHandlerTest, BadJsonIsAnError) {
  begin();
  respond("{not json");
  EXPECT_EQ(expect_error().rfind("parse permission response: ", 0), 0u) << *error_;
}

TEST_F(FilePermissionHandlerTest, BadOutcomeIsAnError) {
  begin();
  respond(R"({"outcome":"maybe","option_id":"allow"})");
  EXPECT_EQ(expect_error(), "invalid permission response outcome \"maybe\"");
}

TEST_F(FilePermissionHandlerTest, UnknownOptionIsAnError) {
  begin();
  respond(R"({"option_id":"nope"})");
  EXPECT_EQ(expect_error(), "option \"nope\" is not in the offered set");
}

TEST_F(FilePermissionHandlerTest, UnknownKindIsAnError) {
  begin();
  respond(R"({"option_id":"weird"})");
  EXPECT_EQ(expect_error(), "option \"weird\" has unsupported kind \"ask_later\"");
}

TEST_F(FilePermissionHandlerTest, RequiresMessage) {
  begin();
  respond(R"({"option_id":"explain","message":""})");
  EXPECT_EQ(expect_error(), "option \"explain\" requires a message");
}

TEST_F(FilePermissionHandlerTest, RequiredMessageGiven) {
  begin();
  respond(R"({"option_id":"explain","message":"use the staging db"})");
  wait_result();
  ASSERT_TRUE(answer_.has_value()) << error_.value_or("");
  EXPECT_EQ(answer_->kind, OptionKind::reject);
  EXPECT_EQ(answer_->message, "use the staging db");
}

TEST_F(FilePermissionHandlerTest, MessageMustBeStringOrNull) {
  begin();
  respond(R"({"option_id":"allow","message":42})");
  EXPECT_EQ(expect_error(), "permission response message must be a string or null");
}

TEST_F(FilePermissionHandlerTest, MessageSizeLimit) {
  const bj::object event = request_event();
  EXPECT_NO_THROW(FilePermissionHandler::parse_response(
      R"({"option_id":"allow","message":")" + std::string(64 * 1024, 'm') + "\"}",
      &event.at("options")));
  begin();
  respond(R"({"option_id":"allow","message":")" + std::string(64 * 1024 + 1, 'm') + "\"}");
  EXPECT_EQ(expect_error(), "permission response message exceeds 65536 bytes");
}

TEST_F(FilePermissionHandlerTest, UnpairedSurrogateIsAnError) {
  begin();
  respond(R"({"option_id":"allow","message":"\ud800"})");
  EXPECT_EQ(expect_error().rfind("parse permission response: ", 0), 0u);
}

TEST_F(FilePermissionHandlerTest, OptionsMustBeAnArray) {
  bj::object e = request_event();
  e["options"] = "allow";
  begin(e);
  respond(R"({"option_id":"allow"})");
  EXPECT_EQ(expect_error(), "permission request options must be an array");
}

TEST_F(FilePermissionHandlerTest, TimesOut) {
  FilePermissionHandler quick(io_.get_executor(), dir_ / "quick.perm", 40ms, 5ms);
  std::optional<std::string> error;
  quick.begin(
      request_event(), [](FileAnswer) { FAIL() << "no answer expected"; },
      [&](std::string e) { error = std::move(e); });
  EXPECT_TRUE(std::filesystem::exists(dir_ / "quick.perm.req"));
  ASSERT_TRUE(run_until(
      io_, [&] { return error.has_value(); }, 5s));
  EXPECT_EQ(*error, "wait for permission response: context deadline exceeded");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "quick.perm.req"));
}

TEST_F(FilePermissionHandlerTest, AbandonDeletesRequestAndSilencesCallbacks) {
  begin();
  ASSERT_TRUE(std::filesystem::exists(req()));
  handler_.abandon();
  EXPECT_FALSE(std::filesystem::exists(req()));
  EXPECT_FALSE(handler_.pending());
  respond(R"({"option_id":"allow"})");
  test::run_for(io_, 30ms);
  EXPECT_FALSE(answer_ || error_);
}

TEST_F(FilePermissionHandlerTest, AbandonAfterAnswerKeepsFiles) {
  begin();
  respond(R"({"option_id":"allow"})");
  wait_result();
  handler_.abandon();
  EXPECT_TRUE(std::filesystem::exists(req()));
}

TEST_F(FilePermissionHandlerTest, MissingRequestIdFailsAsynchronously) {
  bj::object e = request_event();
  e.erase("request_id");
  begin(e);
  EXPECT_EQ(expect_error(), "permission.request missing request_id");
}

TEST_F(FilePermissionHandlerTest, WriteFailureIsReportedThroughFail) {
  FilePermissionHandler bad(io_.get_executor(), dir_ / "missing" / "run.perm", 1s, 5ms);
  std::optional<std::string> error;
  bad.begin(
      request_event(), [](FileAnswer) { FAIL() << "no answer expected"; },
      [&](std::string e) { error = std::move(e); });
  EXPECT_FALSE(error.has_value());
  ASSERT_TRUE(run_until(io_, [&] { return error.has_value(); }));
  EXPECT_NE(error->find("No such file or directory"), std::string::npos) << *error;
}

TEST_F(FilePermissionHandlerTest, SequentialRequestsReuseTheHandler) {
  begin();
  respond(R"({"option_id":"allow"})");
  wait_result();
  answer_.reset();
  bj::object second = request_event();
  second["request_id"] = "18";
  begin(second);
  EXPECT_FALSE(std::filesystem::exists(resp())) << "previous response must be cleared";
  EXPECT_NE(test::read_file(req()).find("\"18\""), std::string::npos);
  respond(R"({"option_id":"deny"})");
  wait_result();
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->option_id, "deny");
}

}  // namespace
}  // namespace avenor::host
