#include "run/session_identity.hpp"

#include <gtest/gtest.h>

namespace avenor::host {
namespace {

SessionIdentity oc(std::string agent = "build", std::string model = "p/m") {
  return {"opencode-acp", std::move(agent), std::move(model), ""};
}

TEST(SessionIdentityMap, UnknownIdResumesUnchanged) {
  SessionIdentityMap map;
  SessionIdentity id{"pi", "", "", ""};
  EXPECT_FALSE(map.fill_for_resume("ses_x", id));
  EXPECT_EQ(id, (SessionIdentity{"pi", "", "", ""}));
  EXPECT_EQ(map.find("ses_x"), nullptr);
}

TEST(SessionIdentityMap, ResumeFillsOmittedFields) {
  SessionIdentityMap map;
  ASSERT_TRUE(map.claim("ses_1", {"pi", "reviewer", "a/b", "prof"}, 1));
  map.release(1);
  SessionIdentity id{"pi", "", "", ""};
  EXPECT_FALSE(map.fill_for_resume("ses_1", id));
  EXPECT_EQ(id, (SessionIdentity{"pi", "reviewer", "a/b", "prof"}));
}

TEST(SessionIdentityMap, ResumeRefusesADifferentExplicitField) {
  SessionIdentityMap map;
  ASSERT_TRUE(map.claim("ses_1", {"pi", "reviewer", "a/b", "prof"}, 1));
  struct Case {
    SessionIdentity wanted;
    const char* message;
  } cases[] = {
      {{"codex-app-server", "", "", ""},
       R"(cannot resume session "ses_1" with backend "codex-app-server": session belongs to backend "pi")"},
      {{"pi", "build", "", ""},
       R"(cannot resume session "ses_1" with agent "build": session belongs to agent "reviewer")"},
      {{"pi", "", "x/y", ""},
       R"(cannot resume session "ses_1" with model "x/y": session belongs to model "a/b")"},
      {{"pi", "reviewer", "a/b", "other"},
       R"(cannot resume session "ses_1" with agent_profile "other": session belongs to agent_profile "prof")"},
  };
  for (auto& c : cases) {
    SessionIdentity id = c.wanted;
    auto refusal = map.fill_for_resume("ses_1", id);
    ASSERT_TRUE(refusal) << c.message;
    EXPECT_EQ(*refusal, c.message);
    EXPECT_EQ(id, c.wanted) << "a refused resume fills nothing";
  }
}

TEST(SessionIdentityMap, EmptyRecordedFieldConstrainsNothing) {
  SessionIdentityMap map;
  ASSERT_TRUE(map.claim("ses_1", oc("", ""), 1));
  map.release(1);
  SessionIdentity id = oc("plan", "q/r");
  EXPECT_FALSE(map.fill_for_resume("ses_1", id));
  EXPECT_EQ(id, oc("plan", "q/r"));
  ASSERT_TRUE(map.claim("ses_1", id, 2));  // the resume learns the fields
  EXPECT_EQ(*map.find("ses_1"), oc("plan", "q/r"));
}

TEST(SessionIdentityMap, ClaimConflicts) {
  SessionIdentityMap map;
  ASSERT_TRUE(map.claim("ses_1", oc(), 1));
  EXPECT_TRUE(map.claim("ses_1", oc(), 1)) << "the holder may claim again";
  EXPECT_FALSE(map.claim("ses_1", oc(), 2)) << "held by another live attempt";
  map.release(1);
  EXPECT_FALSE(map.claim("ses_1", oc("plan"), 2)) << "another identity";
  EXPECT_TRUE(map.claim("ses_1", oc(), 2)) << "a later attempt of the same identity";
  EXPECT_FALSE(map.claim("ses_2", oc(), 1)) << "a released attempt claims nothing";
  EXPECT_FALSE(map.claim("ses_3", oc(), 0)) << "owner 0 is nobody";
}

TEST(SessionIdentityMap, ProvisionalIdIsAliasedThenAdopted) {
  SessionIdentityMap map;
  ASSERT_TRUE(map.claim("prov_1", oc(), 1));
  ASSERT_TRUE(map.adopt("prov_1", "ses_real", 1));
  ASSERT_NE(map.find("ses_real"), nullptr);
  EXPECT_EQ(map.find("prov_1"), map.find("ses_real")) << "the provisional id is an alias";
  EXPECT_TRUE(map.adopt("prov_1", "ses_real", 1)) << "adopting again is a no-op";
  map.release(1);
  // Resuming through the alias checks the adopted session's identity.
  SessionIdentity other = oc("plan");
  EXPECT_TRUE(map.fill_for_resume("prov_1", other));
  SessionIdentity same{"opencode-acp", "", "", ""};
  EXPECT_FALSE(map.fill_for_resume("prov_1", same));
  EXPECT_EQ(same, oc());
  EXPECT_TRUE(map.claim("prov_1", same, 2));
  EXPECT_FALSE(map.claim("ses_real", same, 3)) << "the alias and the real id are one session";
}

TEST(SessionIdentityMap, AdoptingAnIdOfAnotherIdentityConflicts) {
  SessionIdentityMap map;
  ASSERT_TRUE(map.claim("ses_a", {"pi", "", "", ""}, 1));
  map.release(1);
  ASSERT_TRUE(map.claim("prov", oc(), 2));
  EXPECT_FALSE(map.adopt("prov", "ses_a", 2));
  EXPECT_EQ(*map.find("prov"), oc()) << "nothing changed";
  EXPECT_EQ(map.find("ses_a")->backend, "pi");
}

TEST(SessionIdentityMap, AdoptingAnIdHeldByAnotherLiveAttemptConflicts) {
  SessionIdentityMap map;
  ASSERT_TRUE(map.claim("ses_a", oc(), 1));
  ASSERT_TRUE(map.claim("prov", oc(), 2));
  EXPECT_FALSE(map.adopt("prov", "ses_a", 2));
}

TEST(SessionIdentityMap, LateCallbackOfAnEarlierAttemptCannotTakeOver) {
  SessionIdentityMap map;
  ASSERT_TRUE(map.claim("ses_1", oc(), 1));
  map.release(1);
  ASSERT_TRUE(map.claim("ses_1", oc(), 2));  // the retry resumed it
  EXPECT_FALSE(map.adopt("ses_1", "ses_late", 1)) << "attempt 1 is gone";
  EXPECT_FALSE(map.claim("ses_1", oc(), 1));
  EXPECT_EQ(map.find("ses_late"), nullptr);
  // Even a live attempt adopts only a provisional id it holds.
  ASSERT_TRUE(map.claim("ses_9", oc(), 3));
  EXPECT_FALSE(map.adopt("ses_1", "ses_x", 3));
}

}  // namespace
}  // namespace avenor::host
