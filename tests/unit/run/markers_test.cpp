#include "run/markers.hpp"

#include <gtest/gtest.h>

namespace avenor::host {
namespace {

TEST(Markers, AngleStatusLineWithLabel) {
  auto m = parse_angle_status("  <|status: Working | reading files|>  ");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->phase, "working");
  EXPECT_EQ(m->label, "reading files");
}

TEST(Markers, AngleStatusRejectsOtherWordsAndInlineText) {
  EXPECT_FALSE(parse_angle_status("<|status: sleeping|>"));
  EXPECT_FALSE(parse_angle_status("text <|status: done|>"));
}

TEST(Markers, BracketStatusIsFoundInline) {
  auto m = find_bracket_status("now [status: waiting | need input] ok");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->phase, "waiting");
  EXPECT_EQ(m->label, "need input");
  EXPECT_FALSE(find_bracket_status("[status: napping]"));
}

TEST(Markers, LoopMarkersBothForms) {
  EXPECT_EQ(parse_loop_marker("[loop: exit]").directive, LoopDirective::exit);
  auto abort = parse_loop_marker(" <|workflow: ABORT | tests broken|> ");
  EXPECT_EQ(abort.directive, LoopDirective::abort);
  EXPECT_EQ(abort.label, "tests broken");
  EXPECT_EQ(parse_loop_marker("[loop: continue]").directive, LoopDirective::continue_);
  EXPECT_EQ(parse_loop_marker("say [loop: exit]").directive, LoopDirective::none);
  EXPECT_EQ(parse_loop_marker("[loop: dance]").directive, LoopDirective::none);
}

TEST(MarkerScanner, StatusReportedOnceAndAngleWinsOverBracket) {
  MarkerScanner s;
  auto r = s.add_text("[status: working | a]\n<|status: done|>\n");
  ASSERT_TRUE(r.status);
  EXPECT_EQ(r.status->phase, "done");
  EXPECT_FALSE(s.add_text("more text").status);  // same marker, not repeated
}

TEST(MarkerScanner, MarkerSplitAcrossChunks) {
  MarkerScanner s;
  EXPECT_FALSE(s.add_text("[stat").status);
  auto r = s.add_text("us: thinking]");
  ASSERT_TRUE(r.status);
  EXPECT_EQ(r.status->phase, "thinking");
}

TEST(MarkerScanner, LoopDirectiveMostSevereWinsAcrossChunks) {
  MarkerScanner s;
  s.add_text("[loop: exit | done]\n");
  s.add_text("[loop: continue]\n");
  EXPECT_EQ(s.directive().directive, LoopDirective::exit);
  EXPECT_EQ(s.directive().label, "done");
  s.add_text("<|workflow: abort|>");  // a chunk ending at a bare marker counts at once
  EXPECT_EQ(s.directive().directive, LoopDirective::abort);
}

TEST(MarkerScanner, FencedLoopMarkersAreIgnored) {
  MarkerScanner s;
  s.add_text("```\n[loop: abort]\n```\n");
  EXPECT_EQ(s.directive().directive, LoopDirective::none);
}

TEST(MarkerScanner, WindowKeepsOnlyTheLast512Bytes) {
  MarkerScanner s;
  s.add_text("[status: working]\n");
  s.add_text(std::string(600, 'x'));
  // The marker scrolled out of the window; a fresh one is reported again.
  auto r = s.add_text("\n[status: working]");
  ASSERT_TRUE(r.status);
  EXPECT_EQ(r.status->phase, "working");
}

// The window is tracked without rescanning or moving it per chunk: a marker
// split as "<" + "|..." still counts, and one far back in a long stream of
// one-byte chunks (the buffer compacted many times) neither lingers nor hides
// a new one.
TEST(MarkerScanner, LongStreamsOfSmallChunksKeepTheWindowExact) {
  MarkerScanner s;
  int reported = 0;
  for (char c : std::string_view("<|status: thinking|>\n")) {
    auto r = s.add_text(std::string(1, c));
    if (r.status) {
      ++reported;
      EXPECT_EQ(c, '>');  // complete at its last byte, and reported once
      EXPECT_EQ(r.status->phase, "thinking");
    }
  }
  EXPECT_EQ(reported, 1);
  MarkerScanner fresh;
  fresh.add_text("<");
  auto split = fresh.add_text("|status: waiting|>\n");
  ASSERT_TRUE(split.status);
  EXPECT_EQ(split.status->phase, "waiting");
  for (int i = 0; i < 10000; ++i) EXPECT_FALSE(s.add_text("y").status);
  auto r = s.add_text("\n[status: waiting]");
  ASSERT_TRUE(r.status);  // the old one scrolled out long ago
  EXPECT_EQ(r.status->phase, "waiting");
  s.add_text("\n[loop: exit]\n");
  EXPECT_EQ(s.directive().directive, LoopDirective::exit);
  EXPECT_FALSE(s.add_text("").status);
}

}  // namespace
}  // namespace avenor::host
