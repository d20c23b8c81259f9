#include "watch/line_reader.hpp"

#include <unistd.h>

#include <cerrno>

namespace avenor::host::watch {

void LineReader::compact() {
  // Dropping returned lines lazily keeps next_line() views stable and makes
  // erasing O(held bytes) once per append instead of once per line.
  if (consumed_ == 0) return;
  buffer_.erase(0, consumed_);
  scanned_ -= consumed_;
  consumed_ = 0;
}

void LineReader::append(std::string_view bytes) {
  compact();
  buffer_.append(bytes);
}

LineReader::ReadResult LineReader::read_from(int fd, std::size_t max_bytes) {
  compact();
  const std::size_t old_size = buffer_.size();
  buffer_.resize(old_size + max_bytes);
  ssize_t n = 0;
  do {
    n = ::read(fd, buffer_.data() + old_size, max_bytes);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int error = errno;
    buffer_.resize(old_size);
    return ReadResult{0, error};
  }
  buffer_.resize(old_size + static_cast<std::size_t>(n));
  return ReadResult{static_cast<std::size_t>(n), 0};
}

std::optional<LineReader::Line> LineReader::next_line() {
  if (scanned_ < consumed_) scanned_ = consumed_;
  const std::size_t newline = buffer_.find('\n', scanned_);
  if (newline == std::string::npos) {
    if (dropped_ > 0 || held_bytes() > max_line_) {
      // Over the limit without an end in sight: let the bytes go, keep count.
      dropped_ += held_bytes();
      buffer_.resize(consumed_);
    }
    scanned_ = buffer_.size();  // a long partial line is not rescanned
    return std::nullopt;
  }
  const std::size_t start = consumed_;
  consumed_ = newline + 1;
  scanned_ = consumed_;
  const std::size_t length = dropped_ + (newline - start);  // without the '\n'
  offset_ += static_cast<std::int64_t>(dropped_ + (consumed_ - start));
  dropped_ = 0;
  if (length > max_line_) return Line{{}, length};
  return Line{std::string_view(buffer_).substr(start, consumed_ - start), 0};
}

}  // namespace avenor::host::watch
