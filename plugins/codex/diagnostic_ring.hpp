// The last lines of diagnostics about one codex connection (backends.md §3.6:
// a 400-line rolling buffer). The host keeps the child's stderr itself; this
// ring holds what only the plugin sees: stdout lines that were not protocol
// frames, and codex's own warning/error notifications. Error messages quote
// its tail so a failure says what codex complained about last.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::codex {

class DiagnosticRing {
 public:
  static constexpr std::size_t kDefaultLines = 400;
  // One line is cut to this many bytes: a 4 MiB garbage line must not pin memory.
  static constexpr std::size_t kMaxLineBytes = 2048;

  explicit DiagnosticRing(std::size_t capacity = kDefaultLines) : capacity_(capacity) {}

  // Adds `text`, one entry per line; the oldest lines fall out past capacity.
  void note(std::string_view text);

  std::size_t size() const { return lines_.size(); }
  std::vector<std::string> lines() const { return {lines_.begin(), lines_.end()}; }
  // The last `n` lines joined with " | " ("" when empty).
  std::string tail(std::size_t n) const;

 private:
  void push(std::string_view line);

  std::size_t capacity_;
  std::deque<std::string> lines_;
};

}  // namespace avenor::codex
