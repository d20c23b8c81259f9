// LineReader: turns the bytes of a growing log into complete lines (D6).
// Bytes after the last '\n' are held until the rest of their line arrives, so
// a line written in two halves is seen once, whole; the offset only ever
// advances to line boundaries, which is what the cursor saves (events.md §8.7).
// What is held is capped: a line longer than the limit is dropped as it
// arrives and reported as one oversize line once its '\n' comes, so neither a
// runaway writer nor a log without newlines can make watch buffer without end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::host::watch {

class LineReader {
 public:
  // Above the largest event a backend can deliver (16 MiB SSE events; NDJSON
  // and Content-Length frames stop at 4 MiB) with room for the envelope, so
  // no real event is dropped; the bound is what matters.
  static constexpr std::size_t kMaxLineBytes = std::size_t{32} << 20;

  // `start_offset`: the log position the first appended byte comes from.
  explicit LineReader(std::int64_t start_offset = 0, std::size_t max_line_bytes = kMaxLineBytes)
      : offset_(start_offset), max_line_(max_line_bytes) {}

  struct ReadResult {
    std::size_t bytes = 0;  // 0 with error == 0: end of file for now
    int error = 0;          // errno of a failed read(2)
  };
  // Reads up to `max_bytes` from `fd` (retrying EINTR) and appends them.
  ReadResult read_from(int fd, std::size_t max_bytes);

  // Appends raw bytes (what read_from does after reading).
  void append(std::string_view bytes);

  struct Line {
    // The line including its '\n'; empty for an oversize line.
    std::string_view text;
    // Non-zero: a line of this many bytes (without its '\n') was longer than
    // the limit and dropped; its bytes still count in offset().
    std::size_t oversize_bytes = 0;
  };
  // The next complete line, or nullopt when only a partial line (or nothing)
  // is held. The view stays valid until the next call of
  // append/read_from/next_line.
  std::optional<Line> next_line();

  // Log position just after the last line returned by next_line().
  std::int64_t offset() const { return offset_; }
  // Bytes held that do not (yet) form a complete line (0 while an oversize
  // line is being dropped).
  std::size_t held_bytes() const { return buffer_.size() - consumed_; }

 private:
  void compact();

  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already returned as lines
  std::size_t scanned_ = 0;   // bytes of buffer_ known to hold no '\n' past consumed_
  std::int64_t offset_ = 0;
  std::size_t max_line_;
  std::size_t dropped_ = 0;  // bytes of the current oversize line already let go
};

}  // namespace avenor::host::watch
