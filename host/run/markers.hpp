// In-stream markers an agent writes into its own text (events.md §5.1–§5.2):
// status markers become agent.status events, loop markers become directives
// for the loop runner. Scanned over a 512-byte window of recent chunk text.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::host {

struct StatusMarker {
  std::string phase;  // thinking, working, waiting or done
  std::string label;  // may be empty
};

enum class LoopDirective { none = 0, continue_ = 1, exit = 2, abort = 3 };

struct DirectiveMark {
  LoopDirective directive = LoopDirective::none;
  std::string label;
};

std::string_view to_string(LoopDirective d);

// Parses one line that must be nothing but a status marker in angle form.
std::optional<StatusMarker> parse_angle_status(std::string_view line);
// Finds the first inline [status: ...] marker.
std::optional<StatusMarker> find_bracket_status(std::string_view text);
// Parses one line that must be nothing but a loop marker (either form).
DirectiveMark parse_loop_marker(std::string_view line);

// The sliding window and what has been reported from it.
class MarkerScanner {
 public:
  static constexpr std::size_t kWindowBytes = 512;

  struct Result {
    std::optional<StatusMarker> status;  // a new (non-repeated) status marker
  };

  // Appends chunk text and rescans the window.
  Result add_text(std::string_view text);

  // The most severe loop directive seen so far.
  const DirectiveMark& directive() const { return directive_; }
  // Raises the kept directive when `mark` is more severe (used across attempts).
  void merge(const DirectiveMark& mark);
  void reset_directive() { directive_ = {}; }

 private:
  void scan_loop_markers();
  std::optional<StatusMarker> scan_status();
  std::string_view window() const {
    return std::string_view(window_).substr(window_.size() -
                                            std::min(window_.size(), kWindowBytes));
  }

  static constexpr std::size_t kCompactAt = 8 * kWindowBytes;
  std::string window_;           // recent chunk text; the window is its end
  std::uint64_t total_ = 0;      // chunk bytes seen
  std::uint64_t last_mark_ = 0;  // 1 + the stream offset where "[" or "<|" last began (0: none)
  std::string last_status_key_;
  DirectiveMark directive_;
};

}  // namespace avenor::host
