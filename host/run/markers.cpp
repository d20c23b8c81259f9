#include "run/markers.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace avenor::host {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Case-insensitive "starts with" that consumes the prefix.
bool consume_prefix(std::string_view& s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  s.remove_prefix(prefix.size());
  return true;
}

bool consume_suffix(std::string_view& s, std::string_view suffix) {
  if (s.size() < suffix.size() || s.substr(s.size() - suffix.size()) != suffix) return false;
  s.remove_suffix(suffix.size());
  return true;
}

// "<word>" or "<word> | <label>" → (lowercased word, trimmed label).
std::pair<std::string, std::string> split_word_label(std::string_view body) {
  auto bar = body.find('|');
  std::string_view word = trim(body.substr(0, bar));
  std::string_view label =
      bar == std::string_view::npos ? std::string_view{} : trim(body.substr(bar + 1));
  return {lower(word), std::string(label)};
}

bool is_single_word(std::string_view w) {
  return !w.empty() && std::none_of(w.begin(), w.end(), is_space);
}

std::optional<StatusMarker> status_from(std::string_view body) {
  auto [phase, label] = split_word_label(body);
  if (phase != "thinking" && phase != "working" && phase != "waiting" && phase != "done")
    return std::nullopt;
  return StatusMarker{phase, label};
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

bool toggles_fence(std::string_view line) {
  auto t = trim(line);
  return t.starts_with("```") || t.starts_with("~~~");
}

}  // namespace

std::string_view to_string(LoopDirective d) {
  switch (d) {
    case LoopDirective::continue_:
      return "continue";
    case LoopDirective::exit:
      return "exit";
    case LoopDirective::abort:
      return "abort";
    case LoopDirective::none:
      break;
  }
  return "";
}

std::optional<StatusMarker> parse_angle_status(std::string_view line) {
  auto s = trim(line);
  if (!consume_prefix(s, "<|") || !consume_suffix(s, "|>")) return std::nullopt;
  s = trim(s);
  if (!consume_prefix(s, "status:")) return std::nullopt;
  return status_from(s);
}

std::optional<StatusMarker> find_bracket_status(std::string_view text) {
  for (std::size_t at = text.find('['); at != std::string_view::npos; at = text.find('[', at + 1)) {
    auto s = text.substr(at + 1);
    if (!consume_prefix(s, "status:")) continue;
    auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    if (auto m = status_from(s.substr(0, close))) return m;
  }
  return std::nullopt;
}

DirectiveMark parse_loop_marker(std::string_view line) {
  auto s = trim(line);
  std::string_view body;
  if (s.starts_with("[") && s.ends_with("]")) {
    s = s.substr(1, s.size() - 2);
    if (!consume_prefix(s, "loop:")) return {};
    body = s;
  } else if (consume_prefix(s, "<|") && consume_suffix(s, "|>")) {
    if (!consume_prefix(s, "workflow:")) return {};
    body = s;
  } else {
    return {};
  }
  auto [word, label] = split_word_label(body);
  if (!is_single_word(word)) return {};
  if (word == "abort") return {LoopDirective::abort, label};
  if (word == "exit") return {LoopDirective::exit, label};
  if (word == "continue") return {LoopDirective::continue_, label};
  return {};
}

void MarkerScanner::merge(const DirectiveMark& mark) {
  if (mark.directive > directive_.directive) directive_ = mark;
}

MarkerScanner::Result MarkerScanner::add_text(std::string_view text) {
  if (text.empty()) return {};  // the window did not change
  // The window is the last kWindowBytes of window_; the buffer is compacted
  // only now and then, not moved on every chunk.
  const bool drops = std::min(window_.size(), kWindowBytes) + text.size() > kWindowBytes;
  if (drops) last_status_key_.clear();  // bytes, may split a character
  if (window_.size() > kCompactAt) window_.erase(0, window_.size() - kWindowBytes);
  // Where marker syntax last started, searched in the new text only (a "<|"
  // may straddle the chunks).
  if (const std::size_t bracket = text.rfind('['); bracket != std::string_view::npos)
    last_mark_ = std::max(last_mark_, total_ + bracket + 1);
  if (const std::size_t angle = text.rfind("<|"); angle != std::string_view::npos)
    last_mark_ = std::max(last_mark_, total_ + angle + 1);
  if (text.front() == '|' && !window_.empty() && window_.back() == '<')
    last_mark_ = std::max(last_mark_, total_);  // the '<' before this chunk
  window_.append(text);
  total_ += text.size();
  // Fast path: no marker syntax anywhere in the window.
  const std::uint64_t window_start = total_ - std::min<std::uint64_t>(total_, kWindowBytes);
  if (last_mark_ <= window_start) return {};
  scan_loop_markers();
  return Result{scan_status()};
}

void MarkerScanner::scan_loop_markers() {
  bool fenced = false;
  DirectiveMark best;
  for (auto line : split_lines(window())) {
    if (toggles_fence(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    auto mark = parse_loop_marker(line);
    if (mark.directive > best.directive) best = mark;  // ties keep the first
  }
  merge(best);
}

std::optional<StatusMarker> MarkerScanner::scan_status() {
  std::optional<StatusMarker> found;
  for (auto line : split_lines(window())) {
    if ((found = parse_angle_status(line))) break;
  }
  if (!found) found = find_bracket_status(window());
  if (!found) return std::nullopt;
  std::string key = found->phase + "|" + found->label;
  if (key == last_status_key_) return std::nullopt;
  last_status_key_ = std::move(key);
  return found;
}

}  // namespace avenor::host
