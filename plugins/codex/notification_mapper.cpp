#include "notification_mapper.hpp"

#include <avenor/sdk/json.hpp>

#include "text_lookup.hpp"

namespace avenor::codex {

namespace json = avenor::sdk::json;
using boost::json::object;

namespace {

std::string turn_id_of(const object& params) {
  if (const object* turn = json::find_object(params, "turn")) {
    if (auto id = json::find_string(*turn, "id")) return *id;
  }
  return json::string_or(params, "turnId");
}

object chunk(std::string_view name, const object& params, std::string delta) {
  return {{"event", name},
          {"session_id", json::string_or(params, "threadId")},
          {"delta", std::move(delta)},
          {"item_id", json::string_or(params, "itemId")},
          {"turn_id", json::string_or(params, "turnId")}};
}

}  // namespace

std::optional<std::string_view> stop_reason_for(std::string_view status) {
  if (status == "completed") return "end_turn";
  if (status == "interrupted") return "cancelled";
  if (status == "failed") return "error";
  return std::nullopt;
}

MappedNotification NotificationMapper::map(std::string_view method,
                                           const boost::json::value& value) {
  static const object kNoParams;
  const object* found = value.if_object();
  const object& params = found ? *found : kNoParams;

  if (method == "turn/started") {
    MappedNotification out;
    std::string turn_id = turn_id_of(params);
    out.events.push_back({{"event", "avenor.turn.start"},
                          {"session_id", json::string_or(params, "threadId")},
                          {"turn_id", turn_id}});
    out.turn_started = std::move(turn_id);
    return out;
  }
  if (method == "turn/completed") return turn_completed(params);
  if (method == "item/started" || method == "item/completed") return item_lifecycle(method, params);
  if (method == "item/agentMessage/delta" || method == "item/reasoning/textDelta" ||
      method == "item/reasoning/summaryTextDelta" || method == "item/commandExecution/outputDelta")
    return item_delta(method, params);
  if (method == "item/delta" || method == "item/updated") return generic_item_delta(params);
  MappedNotification out;
  out.diagnostic = diagnostic(method, params);
  return out;
}

MappedNotification NotificationMapper::item_lifecycle(std::string_view method,
                                                      const object& params) {
  MappedNotification out;
  const object* item = json::find_object(params, "item");
  if (!item) return out;
  std::string item_id = json::string_or(*item, "id", json::string_or(params, "itemId"));
  ItemContext where{json::string_or(params, "threadId"), json::string_or(params, "turnId")};
  out.events = method == "item/started" ? items_.started(where, *item, item_id)
                                        : items_.completed(where, *item, item_id);
  return out;
}

MappedNotification NotificationMapper::item_delta(std::string_view method, const object& params) {
  MappedNotification out;
  std::string delta = json::string_or(params, "delta");
  if (delta.empty()) return out;
  if (method == "item/commandExecution/outputDelta") {
    object update = chunk("tool.call_update", params, std::move(delta));
    update["status"] = "running";
    out.events.push_back(std::move(update));
    return out;
  }
  items_.note_streamed(json::string_or(params, "itemId"));
  out.events.push_back(
      chunk(method == "item/agentMessage/delta" ? "agent.message_chunk" : "agent.thought_chunk",
            params, std::move(delta)));
  return out;
}

MappedNotification NotificationMapper::generic_item_delta(const object& params) {
  MappedNotification out;
  const object* item = json::find_object(params, "item");
  const object& described = item ? *item : params;
  std::string kind = json::string_or(described, "kind", json::string_or(described, "type"));
  ItemKind what = classify_item(kind);
  if (what == ItemKind::user || what == ItemKind::unknown) return out;
  std::string text = notification_text(params);
  if (text.empty()) return out;

  object event = chunk("", params, std::move(text));
  if (event["item_id"].get_string().empty() && item)
    event["item_id"] = json::string_or(*item, "id");
  std::string item_id(event["item_id"].get_string());
  switch (what) {
    case ItemKind::assistant:
      event["event"] = "agent.message_chunk";
      items_.note_streamed(item_id);
      break;
    case ItemKind::reasoning:
      event["event"] = "agent.thought_chunk";
      items_.note_streamed(item_id);
      break;
    default:
      event["event"] = "tool.call_update";
      event["status"] = "running";
      break;
  }
  out.events.push_back(std::move(event));
  return out;
}

MappedNotification NotificationMapper::turn_completed(const object& params) {
  MappedNotification out;
  const object* turn = json::find_object(params, "turn");
  std::string status = turn ? json::string_or(*turn, "status") : json::string_or(params, "status");
  auto stop_reason = stop_reason_for(status);
  if (!stop_reason) return out;

  TurnEnd end{json::string_or(params, "threadId"), turn_id_of(params), status, {}};
  if (const object* error = turn ? json::find_object(*turn, "error") : nullptr)
    end.error_message = json::string_or(*error, "message");

  object event{{"event", "session.end"},
               {"session_id", end.thread_id},
               {"turn_id", end.turn_id},
               {"reason", status},
               {"stop_reason", *stop_reason}};
  if (status == "failed" && !end.error_message.empty()) event["error_message"] = end.error_message;
  out.events.push_back(std::move(event));
  out.turn_end = std::move(end);
  return out;
}

std::optional<std::string> NotificationMapper::diagnostic(std::string_view method,
                                                          const object& params) {
  std::string text;
  if (method == "warning" || method == "guardianWarning") {
    text = json::string_or(params, "message");
  } else if (method == "configWarning" || method == "deprecationNotice") {
    text = json::string_or(params, "summary");
  } else if (method == "error") {
    const object* error = json::find_object(params, "error");
    text = error ? json::string_or(*error, "message") : std::string();
    if (json::bool_or(params, "willRetry")) text += " (will retry)";
  } else {
    return std::nullopt;
  }
  return "codex " + std::string(method) + ": " + (text.empty() ? json::dump(params) : text);
}

}  // namespace avenor::codex
