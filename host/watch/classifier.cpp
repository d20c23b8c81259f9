#include "watch/classifier.hpp"

#include <array>
#include <boost/json.hpp>
#include <string>

#include "watch/event_excerpt.hpp"

namespace avenor::host::watch {
namespace {

namespace bj = boost::json;

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A regexp \w character (ASCII only, as in Go's \b).
bool is_word_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// Go's \s (the optional spaces after `confidence:`).
bool is_regexp_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

// `confidence:\s*(\d+)(%|\b)` anywhere with a value of at least 60. The digit
// run is taken whole: a shorter run would end between two digits, which is
// neither `%` nor a word boundary, so `confidence: 60ms` does not count.
bool has_high_confidence(std::string_view text) {
  static constexpr std::string_view kKey = "confidence:";
  for (std::size_t at = text.find(kKey); at != std::string_view::npos;
       at = text.find(kKey, at + 1)) {
    std::size_t i = at + kKey.size();
    while (i < text.size() && is_regexp_space(text[i])) ++i;
    const std::size_t digits_start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == digits_start) continue;
    const bool boundary = i == text.size() || text[i] == '%' || !is_word_char(text[i]);
    if (!boundary) continue;
    std::string_view digits = text.substr(digits_start, i - digits_start);
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    // Any value of three or more digits is above 60 (and may not fit an int).
    if (digits.size() >= 3 || (digits.size() == 2 && digits >= "60")) return true;
  }
  return false;
}

std::string_view classify_tool(const bj::object& event) {
  const std::string kind = ascii_lower(string_field(event, "kind"));
  if (kind == "commit") return kMilestone;
  if (kind == "task" && string_field(event, "status") == "completed") return kMilestone;
  for (std::string_view key : {"title", "command"}) {
    if (ascii_lower(string_field(event, key)).find("git commit") != std::string::npos)
      return kMilestone;
  }
  return kActivity;
}

std::string_view classify_chunk(const bj::object& event) {
  std::string text;
  auto content = event.find("content");
  if (content != event.end()) {
    if (const bj::object* object = content->value().if_object(); object != nullptr)
      text = string_field(*object, "text");
  }
  if (text.empty()) return kActivity;
  return text_is_finding(ascii_lower(text)) ? kFinding : kActivity;
}

}  // namespace

bool text_is_finding(std::string_view lowered) {
  static constexpr std::array<std::string_view, 4> kPhrases{"[finding]", "reviewer flagged",
                                                            "correction needed", "failed test"};
  for (std::string_view phrase : kPhrases)
    if (lowered.find(phrase) != std::string_view::npos) return true;
  return has_high_confidence(lowered);
}

std::string_view classify(const bj::object& event) {
  const std::string name = event_name(event);
  if (name == "session.end" || name == "permission.request" || name == "avenor.loop.start" ||
      name == "avenor.phase.end" || name == "avenor.loop.end" || name == "avenor.retry" ||
      name == "avenor.error")
    return kMilestone;
  if (name == "avenor.phase.start" || name == "permission.response") return kActivity;
  if (name == "agent.status") {
    const std::string phase = string_field(event, "phase");
    return phase == "done" || phase == "waiting" ? kMilestone : kActivity;
  }
  if (name == "tool.call" || name == "tool.call_update") return classify_tool(event);
  if (is_chunk_event(name)) return classify_chunk(event);
  return kActivity;
}

}  // namespace avenor::host::watch
