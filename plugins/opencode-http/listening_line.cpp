#include "listening_line.hpp"

namespace avenor::opencode_http {

namespace {

constexpr std::size_t kMaxLine = 64 * 1024;   // a longer line is not the announcement
constexpr std::size_t kMaxRecent = 2 * 1024;  // enough to say why the server died

}  // namespace

std::optional<std::string> listening_url(std::string_view line) {
  constexpr std::string_view kMarker = "listening on ";
  auto at = line.find(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(at + kMarker.size());
  if (rest.substr(0, 7) != "http://") return std::nullopt;
  auto end = rest.find_first_of(" \t\r\n");
  std::string_view url = rest.substr(0, end);
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.size() <= 7) return std::nullopt;
  return std::string(url);
}

std::optional<std::string> ListeningLineScanner::feed(std::string_view bytes) {
  if (found_) return std::nullopt;
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    std::string_view piece = bytes.substr(0, nl);
    if (line_.size() + piece.size() <= kMaxLine) line_.append(piece);
    if (nl == std::string_view::npos) break;
    bytes.remove_prefix(nl + 1);
    std::string line = std::move(line_);
    line_.clear();
    if (auto url = listening_url(line)) {
      found_ = true;
      return url;
    }
    keep_recent(line);
  }
  return std::nullopt;
}

void ListeningLineScanner::keep_recent(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) return;
  if (!recent_.empty()) recent_ += " | ";
  recent_.append(line);
  if (recent_.size() > kMaxRecent) recent_.erase(0, recent_.size() - kMaxRecent);
}

}  // namespace avenor::opencode_http
