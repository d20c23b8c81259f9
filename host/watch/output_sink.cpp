#include "watch/output_sink.hpp"

#include <cerrno>
#include <system_error>

namespace avenor::host::watch {

void OutputSink::write(std::string_view bytes) {
  if (failed_) return;
  buffer_.append(bytes);
  if (buffer_.size() >= kBufferLimit) hand_over(false);
}

void OutputSink::write_line(std::string_view line) {
  if (failed_) return;
  buffer_.append(line);
  buffer_ += '\n';
  if (buffer_.size() >= kBufferLimit) hand_over(false);
}

bool OutputSink::flush() {
  if (!failed_) hand_over(true);
  return !failed_;
}

void OutputSink::hand_over(bool flush_stream) {
  // errno after a failed stream write is the best account of the cause
  // (std::cout reports failures through its state only).
  errno = 0;
  if (!buffer_.empty()) out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
  if (flush_stream && out_) out_.flush();
  if (!out_) {
    const int error = errno;
    failed_ = true;
    reader_gone_ = error == EPIPE;
    error_ = error != 0 ? std::error_code(error, std::generic_category()).message()
                        : std::string("write error");
  }
}

}  // namespace avenor::host::watch
