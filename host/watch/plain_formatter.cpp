#include "watch/plain_formatter.hpp"

#include "watch/classifier.hpp"
#include "watch/event_excerpt.hpp"
#include "watch/text_clean.hpp"

namespace avenor::host::watch {

std::string plain_line(std::string_view type, std::string_view session, std::string_view text) {
  std::string line = "EVENT ";
  line += type;
  line += ' ';
  line += session;
  line += ' ';
  line += text;
  return line;
}

std::optional<std::string> format_plain_line(const boost::json::object& event, bool classify) {
  const std::string name = event_name(event);
  if (name.empty()) return std::nullopt;
  // A permission request's options and id matter more than the 120-rune cut.
  const std::string excerpt = name == "permission.request"
                                  ? permission_excerpt(event)
                                  : clean_excerpt(raw_excerpt(event, name));
  std::string line = plain_line(name, session_of(event), excerpt);
  if (classify) line = std::string(watch::classify(event)) + " " + line;
  return line;
}

}  // namespace avenor::host::watch
