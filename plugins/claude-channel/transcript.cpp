#include "transcript.hpp"

#include <avenor/sdk/json.hpp>
#include <boost/json.hpp>
#include <charconv>

namespace avenor::claude_channel {
namespace {

namespace bj = boost::json;
namespace json = avenor::sdk::json;

bool is_kept(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int digits(std::string_view s, std::size_t pos, std::size_t n) {
  int value = -1;
  if (pos + n > s.size()) return -1;
  const auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, value);
  return ec == std::errc{} && end == s.data() + pos + n ? value : -1;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string block_text(const bj::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  std::string text;
  if (const bj::array* blocks = content.if_array()) {
    for (const bj::value& b : *blocks) {
      const bj::object* o = b.if_object();
      if (o != nullptr && json::string_or(*o, "type") == "text")
        text += json::string_or(*o, "text");
    }
  }
  return text;
}

bj::object event(std::string_view name, std::string_view session_id) {
  return {{"event", name}, {"session_id", session_id}};
}

void map_assistant(const bj::object& message, std::string_view session_id,
                   std::vector<bj::object>& out) {
  const bj::array* blocks = json::find_array(message, "content");
  if (blocks == nullptr) return;
  for (const bj::value& b : *blocks) {
    const bj::object* o = b.if_object();
    if (o == nullptr) continue;
    const std::string type = json::string_or(*o, "type");
    if (type == "text") {
      bj::object e = event("agent.message_chunk", session_id);
      e["delta"] = json::string_or(*o, "text");
      out.push_back(std::move(e));
    } else if (type == "thinking") {
      bj::object e = event("agent.thought_chunk", session_id);
      e["delta"] = json::string_or(*o, "thinking");
      out.push_back(std::move(e));
    } else if (type == "tool_use") {
      bj::object e = event("tool.call", session_id);
      e["kind"] = "tool";
      e["status"] = "running";
      e["tool_use_id"] = json::string_or(*o, "id");
      e["title"] = json::string_or(*o, "name");
      const bj::value* input = o->if_contains("input");
      e["input"] = input != nullptr ? *input : bj::value(bj::object{});
      out.push_back(std::move(e));
    }
  }
}

void map_user(const bj::object& message, std::string_view session_id,
              std::vector<bj::object>& out) {
  const bj::value* content = message.if_contains("content");
  if (content == nullptr) return;
  if (content->is_string()) {
    bj::object e = event("user.message_chunk", session_id);
    e["delta"] = content->get_string();
    out.push_back(std::move(e));
    return;
  }
  const bj::array* blocks = content->if_array();
  if (blocks == nullptr) return;
  for (const bj::value& b : *blocks) {
    const bj::object* o = b.if_object();
    if (o == nullptr) continue;
    const std::string type = json::string_or(*o, "type");
    if (type == "text") {
      bj::object e = event("user.message_chunk", session_id);
      e["delta"] = json::string_or(*o, "text");
      out.push_back(std::move(e));
    } else if (type == "tool_result") {
      bj::object e = event("tool.call_update", session_id);
      e["status"] = "completed";
      e["tool_use_id"] = json::string_or(*o, "tool_use_id");
      const bj::value* result = o->if_contains("content");
      e["delta"] = result != nullptr ? block_text(*result) : std::string();
      out.push_back(std::move(e));
    }
  }
}

}  // namespace

std::string mangle_project_dir(std::string_view dir) {
  std::string out(dir);
  for (char& c : out)
    if (!is_kept(c)) c = '-';
  return out;
}

std::string transcript_path(std::string_view config_dir, std::string_view dir,
                            std::string_view session_id) {
  std::string base(config_dir);
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + "/projects/" + mangle_project_dir(dir) + "/" + std::string(session_id) + ".jsonl";
}

std::optional<std::int64_t> parse_timestamp_ms(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ') ||
      t[13] != ':' || t[16] != ':' || t.back() != 'Z')
    return std::nullopt;
  const int y = digits(t, 0, 4), mo = digits(t, 5, 2), d = digits(t, 8, 2);
  const int h = digits(t, 11, 2), mi = digits(t, 14, 2), s = digits(t, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || mi < 0 || s < 0)
    return std::nullopt;
  int ms = 0;
  if (t.size() > 20 && t[19] == '.') {
    std::string_view frac = t.substr(20, t.size() - 21);
    int scale = 100;
    for (char c : frac.substr(0, 3)) {
      if (c < '0' || c > '9') return std::nullopt;
      ms += (c - '0') * scale;
      scale /= 10;
    }
  }
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * 60'000 + static_cast<std::int64_t>(s) * 1000 + ms;
}

TranscriptBatch map_transcript_lines(std::string_view lines, std::string_view session_id,
                                     std::int64_t turn_started_ms) {
  TranscriptBatch batch;
  while (!lines.empty()) {
    const std::size_t nl = lines.find('\n');
    const std::string_view line = lines.substr(0, nl);
    lines.remove_prefix(nl == std::string_view::npos ? lines.size() : nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    boost::system::error_code ec;
    const bj::value parsed = bj::parse(line, ec);
    if (ec || !parsed.is_object()) continue;
    const bj::object& record = parsed.get_object();
    ++batch.records;

    const std::string type = json::string_or(record, "type");
    const bj::object* message = json::find_object(record, "message");
    if (message != nullptr && type == "assistant")
      map_assistant(*message, session_id, batch.events);
    if (message != nullptr && type == "user" && !json::bool_or(record, "isMeta"))
      map_user(*message, session_id, batch.events);

    const auto ts = parse_timestamp_ms(json::string_or(record, "timestamp"));
    const bool this_turn = !ts || *ts >= turn_started_ms;
    if (!this_turn || type != "assistant") continue;
    if (json::bool_or(record, "isApiErrorMessage")) {
      const bj::value* content = message != nullptr ? json::find(*message, "content") : nullptr;
      std::string text = content != nullptr ? block_text(*content) : std::string();
      batch.api_error = text.empty() ? json::string_or(record, "error", "API error") : text;
      continue;
    }
    std::string stop = message != nullptr ? json::string_or(*message, "stop_reason") : "";
    if (stop.empty()) stop = json::string_or(record, "stop_reason");
    if (stop == "end_turn") batch.end_turn = true;
  }
  return batch;
}

}  // namespace avenor::claude_channel
