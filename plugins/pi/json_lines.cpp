#include "json_lines.hpp"

#include <algorithm>

namespace avenor::pi {

namespace {

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t\r") == std::string_view::npos; }

}  // namespace

JsonLines::Batch JsonLines::feed(std::string_view bytes) {
  Batch out;
  if (failed_) return out;
  std::size_t scan_from = buffer_.size();
  buffer_.append(bytes);
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = buffer_.find('\n', std::max(start, scan_from));
    if (nl == std::string::npos) break;
    std::string_view line(buffer_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max_line_) {
      failed_ = true;
      out.error = "pi: a JSON line exceeds " + std::to_string(max_line_) + " bytes";
      buffer_.clear();
      return out;
    }
    if (!is_blank(line)) out.lines.emplace_back(line);
    start = nl + 1;
  }
  buffer_.erase(0, start);
  if (buffer_.size() > max_line_ + 1) {  // +1: room for a trailing CR
    failed_ = true;
    out.error = "pi: a JSON line exceeds " + std::to_string(max_line_) + " bytes";
    buffer_.clear();
  }
  return out;
}

}  // namespace avenor::pi
