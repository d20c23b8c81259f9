#include "watch/accumulator.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "watch/classifier.hpp"
#include "watch/event_excerpt.hpp"
#include "watch/plain_formatter.hpp"
#include "watch/text_clean.hpp"

namespace avenor::host::watch {

std::vector<std::string> Accumulator::process(const boost::json::object& event) {
  std::vector<std::string> lines;
  const std::string name = event_name(event);
  if (name.empty()) return lines;
  if (!is_chunk_event(name)) {
    flush_into(lines);
    if (auto line = format_plain_line(event, classify_)) lines.push_back(std::move(*line));
    return lines;
  }
  std::string text = chunk_text(event);
  if (text.empty()) return lines;  // no output and no flush
  const std::string session = session_of(event);
  std::string key = session + "|" + name;
  auto open =
      std::find_if(buffers_.begin(), buffers_.end(), [&](const Buffer& b) { return b.key == key; });
  if (open != buffers_.end()) {
    open->text += text;
    return lines;
  }
  flush_into(lines);
  buffers_.push_back(Buffer{std::move(key), session, name, std::move(text)});
  return lines;
}

std::vector<std::string> Accumulator::flush() {
  std::vector<std::string> lines;
  flush_into(lines);
  return lines;
}

void Accumulator::flush_into(std::vector<std::string>& lines) {
  for (const Buffer& buffer : buffers_) {
    std::string line = plain_line(buffer.type, buffer.session, clean_accumulated(buffer.text));
    if (classify_) {
      // The tag of the whole joined text, as if it had been one chunk.
      boost::json::object synthetic;
      synthetic["event"] = buffer.type;
      synthetic["session_id"] = buffer.session;
      synthetic["content"] = boost::json::object{{"text", buffer.text}};
      line = std::string(classify(synthetic)) + " " + line;
    }
    lines.push_back(std::move(line));
  }
  buffers_.clear();
}

}  // namespace avenor::host::watch
