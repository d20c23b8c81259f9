#include "watch/event_excerpt.hpp"

#include <boost/json.hpp>

#include "watch/text_clean.hpp"
#include "watch/value_text.hpp"

namespace avenor::host::watch {
namespace {

namespace bj = boost::json;

const bj::value* find(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

std::string tool_summary(const bj::object& event) {
  const std::string kind = string_field(event, "kind");
  const std::string title = string_field(event, "title");
  const std::string status = string_field(event, "status");
  std::string base;
  if (!kind.empty() && !title.empty()) {
    base = kind + ":" + title;
  } else if (!kind.empty()) {
    base = kind;
  } else {
    base = title;
  }
  if (!status.empty()) base += " [" + status + "]";
  return base;
}

std::string first_non_empty(const bj::object& event, std::string_view key,
                            std::string_view fallback_key) {
  std::string text = string_field(event, key);
  return text.empty() ? string_field(event, fallback_key) : text;
}

constexpr std::size_t kPermissionTitleRunes = 80;
constexpr std::size_t kPermissionOptions = 8;

std::string permission_subject(const bj::object& event) {
  std::string text = string_field(event, "question");
  if (!text.empty()) return text;
  if (const bj::value* call = find(event, "toolCall"); call != nullptr && call->is_object()) {
    text = string_field(call->get_object(), "title");
    if (!text.empty()) return text;
  }
  for (std::string_view key : {"description", "command", "message", "title", "tool"}) {
    text = string_field(event, key);
    if (!text.empty()) return text;
  }
  return "";
}

// "[once=allow_once, reject=reject_once]", "" without options.
std::string permission_options(const bj::object& event) {
  const bj::value* options = find(event, "options");
  if (options == nullptr || !options->is_array() || options->get_array().empty()) return "";
  std::string text = "[";
  std::size_t shown = 0;
  for (const bj::value& option : options->get_array()) {
    if (shown == kPermissionOptions) {
      text += ", \u2026";
      break;
    }
    const bj::object* o = option.if_object();
    if (o == nullptr) continue;
    const std::string id = string_field(*o, "optionId");
    const std::string kind = string_field(*o, "kind");
    if (shown++ > 0) text += ", ";
    text += kind.empty() ? id : id + "=" + kind;
  }
  return shown == 0 ? "" : text + "]";
}

}  // namespace

std::string permission_excerpt(const bj::object& event) {
  std::string text(trim_right_space(
      cut_runes(collapse_line_breaks(permission_subject(event)), kPermissionTitleRunes)));
  auto append = [&text](const std::string& part) {
    if (part.empty()) return;
    if (!text.empty()) text += ' ';
    text += part;
  };
  append(collapse_line_breaks(permission_options(event)));
  const std::string request_id = string_field(event, "request_id");
  if (!request_id.empty()) append("(request " + collapse_line_breaks(request_id) + ")");
  return text;
}

std::string string_field(const bj::object& event, std::string_view key) {
  const bj::value* v = find(event, key);
  if (v == nullptr || !v->is_string()) return "";
  return valid_utf8(v->get_string());
}

std::string event_name(const bj::object& event) { return string_field(event, "event"); }

std::string session_of(const bj::object& event) {
  return first_non_empty(event, "session_id", "sessionID");
}

bool is_chunk_event(std::string_view name) {
  return name == "agent.message_chunk" || name == "agent.thought_chunk" ||
         name == "user.message_chunk";
}

std::string chunk_text(const bj::object& event) {
  if (const bj::value* content = find(event, "content"); content != nullptr) {
    if (const bj::object* object = content->if_object(); object != nullptr) {
      std::string text = string_field(*object, "text");
      if (!text.empty()) return text;
    }
  }
  return string_field(event, "delta");
}

std::string raw_excerpt(const bj::object& event, std::string_view name) {
  if (is_chunk_event(name)) return chunk_text(event);
  if (name == "agent.status") {
    const std::string phase = string_field(event, "phase");
    const std::string label = string_field(event, "label");
    return label.empty() ? phase : phase + " | " + label;
  }
  if (name == "tool.call" || name == "tool.call_update") return tool_summary(event);
  if (name == "permission.request") return first_non_empty(event, "question", "tool");
  if (name == "session.plan") return first_non_empty(event, "label", "title");
  if (name == "session.end") return "stop_reason=" + string_field(event, "stop_reason");
  if (name == "avenor.loop.start")
    return "loop start, max_iterations=" + value_text(find(event, "max_iterations"));
  // The loop placeholders print any value (a missing one as <nil>); only
  // session.end's stop reason is read as a string that may be empty.
  if (name == "avenor.phase.start")
    return "phase: " + value_text(find(event, "phase")) + " (iter " +
           value_text(find(event, "iteration")) + ")";
  if (name == "avenor.phase.end")
    return "phase: " + value_text(find(event, "phase")) + " \u2192 " +
           value_text(find(event, "stop_reason"));
  if (name == "avenor.loop.end") return "loop end: " + value_text(find(event, "exit_reason"));
  if (name == "avenor.retry") {
    const bj::value* attempt = find(event, "attempt");
    if (attempt == nullptr || attempt->is_null()) return "retrying";
    return "attempt=" + value_text(attempt) + "/" + value_text(find(event, "max_retries"));
  }
  if (name == "avenor.error") {
    const std::string source = string_field(event, "source");
    const std::string message = string_field(event, "message");
    return message.empty() ? source : source + ": " + message;
  }
  return "";
}

}  // namespace avenor::host::watch
