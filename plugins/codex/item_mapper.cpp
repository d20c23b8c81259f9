#include "item_mapper.hpp"

#include <avenor/sdk/json.hpp>

#include "text_lookup.hpp"

namespace avenor::codex {

namespace json = avenor::sdk::json;
using boost::json::object;

namespace {

object event(std::string_view name, const ItemContext& where, std::string_view item_id) {
  return {{"event", name},
          {"session_id", where.session_id},
          {"item_id", item_id},
          {"turn_id", where.turn_id}};
}

void copy_field(object& to, const object& from, std::string_view key, std::string_view as) {
  if (const boost::json::value* v = json::find(from, key)) to[as] = *v;
}

// Generic tool-like items name themselves in different fields.
std::string tool_title(const object& item, std::string_view type) {
  for (std::string_view key : {"title", "name", "toolName", "tool"}) {
    if (auto s = json::find_string(item, key); s && !s->empty()) return *s;
  }
  return std::string(type);
}

// The summary, else the raw content, of a reasoning item, parts on their own lines.
std::string reasoning_text(const object& item) {
  for (std::string_view key : {"summary", "content"}) {
    const boost::json::array* parts = json::find_array(item, key);
    if (!parts) continue;
    std::string joined;
    for (const auto& part : *parts) {
      std::string text = text_of(part);
      if (text.empty()) continue;
      if (!joined.empty()) joined += "\n";
      joined += text;
    }
    if (!joined.empty()) return joined;
  }
  return {};
}

bool is_generic_tool(std::string_view type) {
  return contains_ignoring_case(type, "tool") || contains_ignoring_case(type, "function");
}

}  // namespace

std::string changed_paths(const object& item) {
  std::string paths;
  if (const boost::json::array* changes = json::find_array(item, "changes")) {
    for (const auto& change : *changes) {
      const object* c = change.if_object();
      auto path = c ? json::find_string(*c, "path") : std::nullopt;
      if (!path || path->empty()) continue;
      if (!paths.empty()) paths += ", ";
      paths += *path;
    }
  }
  return paths;
}

ItemMapper::Events ItemMapper::started(const ItemContext& where, const object& item,
                                       std::string_view item_id) const {
  const std::string type = json::string_or(item, "type");
  Events out;
  object start = event("avenor.item.start", where, item_id);
  start["item_kind"] = type;
  out.push_back(std::move(start));

  object call = event("tool.call", where, item_id);
  call["kind"] = "tool";
  call["status"] = "running";
  if (type == "commandExecution") {
    call["title"] = json::string_or(item, "command");
    copy_field(call, item, "command", "command");
    copy_field(call, item, "cwd", "cwd");
  } else if (type == "fileChange") {
    call["title"] = changed_paths(item);
    copy_field(call, item, "changes", "rawInput");
  } else if (type == "mcpToolCall") {
    call["title"] = json::string_or(item, "server") + "." + json::string_or(item, "tool");
    copy_field(call, item, "arguments", "rawInput");
  } else if (type != "userMessage" && is_generic_tool(type)) {
    call["title"] = tool_title(item, type);
  } else {
    return out;
  }
  out.push_back(std::move(call));
  return out;
}

ItemMapper::Events ItemMapper::completed(const ItemContext& where, const object& item,
                                         std::string_view item_id) {
  const std::string type = json::string_or(item, "type");
  bool streamed = false;
  if (auto it = streamed_.find(item_id); it != streamed_.end()) {
    streamed_.erase(it);
    streamed = true;
  }
  Events out;

  if (type == "agentMessage" || type == "reasoning") {
    std::string text =
        type == "agentMessage" ? json::string_or(item, "text") : reasoning_text(item);
    if (!streamed && !text.empty()) {
      object chunk = event(type == "agentMessage" ? "agent.message_chunk" : "agent.thought_chunk",
                           where, item_id);
      chunk["delta"] = std::move(text);
      out.push_back(std::move(chunk));
    }
  } else if (type != "userMessage") {
    object update = event("tool.call_update", where, item_id);
    std::string status = json::string_or(item, "status");
    if (type == "commandExecution") {
      update["kind"] = "tool";
      update["status"] = status.empty() ? "completed" : status;
      copy_field(update, item, "exitCode", "exitCode");
      copy_field(update, item, "aggregatedOutput", "aggregatedOutput");
      out.push_back(std::move(update));
    } else if (type == "fileChange") {
      update["status"] = status.empty() ? "completed" : status;
      out.push_back(std::move(update));
    } else if (type == "mcpToolCall") {
      const boost::json::value* error = json::find(item, "error");
      const bool failed = error && !error->is_null();
      update["status"] = failed ? "failed" : "completed";
      if (const boost::json::value* result = json::find(item, "result");
          result && !result->is_null())
        update["result"] = *result;
      if (failed) update["error"] = *error;
      out.push_back(std::move(update));
    } else if (is_generic_tool(type)) {
      update["status"] = "completed";
      out.push_back(std::move(update));
    }
  }

  object end = event("avenor.item.end", where, item_id);
  end["item_kind"] = type;
  out.push_back(std::move(end));
  return out;
}

}  // namespace avenor::codex
