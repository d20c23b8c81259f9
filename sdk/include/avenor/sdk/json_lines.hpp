// Strict JSON-lines framing for CLIs that speak one JSON record per line
// (`pi --mode rpc`, claude's stream-json): records end at LF only — U+2028 and
// U+2029 are legal inside JSON strings, so no generic line reader may be used —
// a trailing CR is stripped, blank lines are skipped, and one record may not
// exceed a size cap, so a runaway line fails loudly instead of growing forever.
#pragma once

#include <algorithm>
#include <avenor/sdk/host.hpp>
#include <avenor/sdk/json.hpp>
#include <avenor/sdk/utf8_cut.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::sdk {

class JsonLines {
 public:
  static constexpr std::size_t kDefaultMaxLine = std::size_t{50} << 20;  // 50 MiB

  struct Batch {
    std::vector<std::string> lines;    // complete records, without terminator; blank ones skipped
    std::optional<std::string> error;  // set once a record exceeded the cap; the stream is over
  };

  // `owner` starts the error message ("pi: a JSON line exceeds ... bytes").
  explicit JsonLines(std::size_t max_line = kDefaultMaxLine, std::string owner = "backend")
      : max_line_(max_line), owner_(std::move(owner)) {}

  // Appends `bytes` and returns every record they complete, in order.
  Batch feed(std::string_view bytes) {
    Batch out;
    if (failed_) return out;
    const std::size_t scan_from = buffer_.size();
    buffer_.append(bytes);
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = buffer_.find('\n', std::max(start, scan_from));
      if (nl == std::string::npos) break;
      std::string_view line(buffer_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > max_line_) return fail(out);
      if (line.find_first_not_of(" \t\r") != std::string_view::npos) out.lines.emplace_back(line);
      start = nl + 1;
    }
    buffer_.erase(0, start);
    if (buffer_.size() > max_line_ + 1) return fail(out);  // +1: room for a trailing CR
    return out;
  }

  // Bytes held for an unfinished record.
  std::size_t buffered() const { return buffer_.size(); }

  // A record as a JSON object; anything else is skipped with a warning
  // through `host`, since one bad line does not desynchronize a line protocol.
  std::optional<boost::json::object> object_of(std::string_view line, const Host& host) const {
    boost::json::value parsed;
    try {
      parsed = json::parse(line);
    } catch (const std::exception& e) {
      host.log(LogLevel::warn, owner_ + ": skipping a stdout line that is not JSON (" +
                                   std::string(e.what()) + "): " + excerpt(line));
      return std::nullopt;
    }
    if (auto* object = parsed.if_object()) return std::move(*object);
    host.log(LogLevel::warn,
             owner_ + ": skipping a stdout line that is not a JSON object: " + excerpt(line));
    return std::nullopt;
  }

 private:
  Batch& fail(Batch& out) {
    failed_ = true;
    out.error = owner_ + ": a JSON line exceeds " + std::to_string(max_line_) + " bytes";
    buffer_.clear();
    return out;
  }

  std::size_t max_line_;
  std::string owner_;
  std::string buffer_;
  bool failed_ = false;
};

}  // namespace avenor::sdk
