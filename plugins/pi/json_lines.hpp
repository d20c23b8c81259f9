// Strict JSON-lines framing for `pi --mode rpc` (backends.md §6.2): records
// end at LF only — U+2028/U+2029 are legal inside JSON strings, so no generic
// line reader may be used — a trailing CR is stripped, and one record may not
// exceed a size cap, so a runaway line fails loudly instead of growing forever.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::pi {

class JsonLines {
 public:
  static constexpr std::size_t kDefaultMaxLine = std::size_t{50} << 20;  // 50 MiB

  struct Batch {
    std::vector<std::string> lines;    // complete records, without terminator; blank ones skipped
    std::optional<std::string> error;  // set once a record exceeded the cap; the stream is over
  };

  explicit JsonLines(std::size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}

  // Appends `bytes` and returns every record they complete, in order.
  Batch feed(std::string_view bytes);

  // Bytes held for an unfinished record.
  std::size_t buffered() const { return buffer_.size(); }

 private:
  std::size_t max_line_;
  std::string buffer_;
  bool failed_ = false;
};

}  // namespace avenor::pi
