#include "codex/diagnostic_ring.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using avenor::codex::DiagnosticRing;

TEST(CodexDiagnosticRing, KeepsTheLast400Lines) {
  DiagnosticRing ring;
  for (int i = 0; i < 450; ++i) ring.note("line " + std::to_string(i));
  ASSERT_EQ(ring.size(), 400u);
  EXPECT_EQ(ring.lines().front(), "line 50");
  EXPECT_EQ(ring.lines().back(), "line 449");
}

TEST(CodexDiagnosticRing, OneEntryPerLineWithoutBlanks) {
  DiagnosticRing ring(10);
  ring.note("a\r\nb\n\nc\n");
  EXPECT_EQ(ring.lines(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ring.tail(2), "b | c");
  EXPECT_EQ(ring.tail(99), "a | b | c");
  EXPECT_EQ(DiagnosticRing().tail(3), "");
}

TEST(CodexDiagnosticRing, LongLinesAreCutOnACharacterBoundary) {
  DiagnosticRing ring(1);
  std::string line(DiagnosticRing::kMaxLineBytes - 1, 'x');
  line += "\xC3\xA9tail";  // é straddles the cut
  ring.note(line);
  std::string kept = ring.lines().front();
  EXPECT_EQ(kept, std::string(DiagnosticRing::kMaxLineBytes - 1, 'x') + "...");
}

}  // namespace
