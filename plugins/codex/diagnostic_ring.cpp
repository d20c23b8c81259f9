#include "diagnostic_ring.hpp"

#include <algorithm>
#include <avenor/sdk/utf8_cut.hpp>

namespace avenor::codex {

void DiagnosticRing::note(std::string_view text) {
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) push(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

void DiagnosticRing::push(std::string_view line) {
  if (capacity_ == 0) return;
  std::string_view kept = sdk::utf8_prefix(line, kMaxLineBytes);
  std::string entry(kept);
  if (kept.size() < line.size()) entry += "...";
  lines_.push_back(std::move(entry));
  while (lines_.size() > capacity_) lines_.pop_front();
}

std::string DiagnosticRing::tail(std::size_t n) const {
  std::string out;
  std::size_t first = lines_.size() - std::min(n, lines_.size());
  for (std::size_t i = first; i < lines_.size(); ++i) {
    if (!out.empty()) out += " | ";
    out += lines_[i];
  }
  return out;
}

}  // namespace avenor::codex
