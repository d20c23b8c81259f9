// Small helpers shared by the fuzz targets: splitting an input into lines or
// sections, and failing loudly when an invariant breaks (libFuzzer keeps the
// input that aborted as a reproducer).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The lines of `text` without their '\n' (a final line without one included).
inline std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return lines;
}

// Text before and after the first line that is exactly `marker` (the marker
// line itself dropped); everything is `first` when there is no such line.
inline std::pair<std::string_view, std::string_view> split_at_line(std::string_view text,
                                                                   std::string_view marker) {
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t nl = text.find('\n', at);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    if (text.substr(at, end - at) == marker)
      return {text.substr(0, at),
              nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1)};
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return {text, {}};
}

// Aborts with `what` (and the start of `detail`, e.g. the offending output)
// when `ok` is false: a broken invariant is a finding.
inline void require(bool ok, const char* what, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  if (!detail.empty())
    std::fprintf(stderr, "  detail: %.*s\n",
                 static_cast<int>(std::min<std::size_t>(detail.size(), 400)), detail.data());
  std::abort();
}

}  // namespace avenor::fuzz
