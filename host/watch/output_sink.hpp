// Buffered stdout for watch (events.md §8.1): output is collected and handed
// to the stream in large writes; a failed write or flush is remembered so
// the command can exit 1 and leave the cursor alone.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>

namespace avenor::host::watch {

class OutputSink {
 public:
  explicit OutputSink(std::ostream& out) : out_(out) {}

  // Appends; hands the buffer to the stream once it is large.
  void write(std::string_view bytes);
  void write_line(std::string_view line);  // line + '\n'

  // Writes the buffer and flushes the stream. False (now and from then on)
  // once the stream has failed.
  bool flush();

  bool failed() const { return failed_; }
  // Why the stream failed, e.g. "No space left on device".
  const std::string& error() const { return error_; }
  // The stream failed because its reader went away (EPIPE: `watch | head`),
  // which ends watch quietly rather than as an error.
  bool reader_gone() const { return reader_gone_; }

  static constexpr std::size_t kBufferLimit = 64 * 1024;

 private:
  void hand_over(bool flush_stream);

  std::ostream& out_;
  std::string buffer_;
  bool failed_ = false;
  bool reader_gone_ = false;
  std::string error_;
};

}  // namespace avenor::host::watch
