#include "permissions/pending_notice.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace avenor::host {
namespace {

namespace bj = boost::json;

TEST(ShellQuote, LeavesPlainWordsAlone) {
  EXPECT_EQ(shell_quote("/tmp/run-1/run.perm"), "/tmp/run-1/run.perm");
  EXPECT_EQ(shell_quote("a@b%c+d=e:f,g.h_i"), "a@b%c+d=e:f,g.h_i");
}

TEST(ShellQuote, QuotesEverythingElse) {
  EXPECT_EQ(shell_quote("/tmp/my run/run.perm"), "'/tmp/my run/run.perm'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$HOME;rm"), "'$HOME;rm'");
  EXPECT_EQ(shell_quote(""), "''");
}

TEST(PendingNotice, NamesTheToolCallTitleOptionsAndCommand) {
  const bj::object doc = bj::parse(R"({
    "request_id": "0", "session_id": "ses_1",
    "options": [{"optionId": "once", "kind": "allow_once"},
                {"optionId": "reject", "kind": "reject_once"}],
    "payload": {"toolCall": {"title": "rm -rf\nbuild", "kind": "execute"}}
  })")
                             .as_object();
  EXPECT_EQ(pending_permission_notice(doc, "/tmp/w x/run.perm"),
            "avenor: permission 0 pending: rm -rf build — options: once (allow_once), reject "
            "(reject_once); answer with: avenor answer '/tmp/w x/run.perm' --option <id>");
}

TEST(PendingNotice, FallsBackToToolThenQuestion) {
  bj::object doc{{"request_id", "7"}, {"question", "Proceed?"}};
  EXPECT_NE(pending_permission_notice(doc, "/b").find("pending: Proceed? — options: none;"),
            std::string::npos);
  doc["tool"] = "bash";
  EXPECT_NE(pending_permission_notice(doc, "/b").find("pending: bash —"), std::string::npos);
  bj::object bare{{"request_id", "8"}};
  EXPECT_NE(pending_permission_notice(bare, "/b").find("pending: (untitled request) —"),
            std::string::npos);
}

TEST(PendingNotice, MakesARelativeBaseAbsolute) {
  const std::string line = pending_permission_notice(bj::object{{"request_id", "1"}}, "x/run.perm");
  const std::string cwd = std::filesystem::current_path().string();
  EXPECT_NE(line.find("avenor answer " + shell_quote(cwd + "/x/run.perm") + " --option"),
            std::string::npos)
      << line;
}

TEST(PendingNotice, CutsALongTitle) {
  bj::object doc{{"request_id", "1"}, {"tool", std::string(1000, 'a')}};
  const std::string line = pending_permission_notice(doc, "/b");
  EXPECT_NE(line.find(std::string(200, 'a') + "... —"), std::string::npos);
  EXPECT_EQ(line.find(std::string(201, 'a')), std::string::npos);
}

}  // namespace
}  // namespace avenor::host
