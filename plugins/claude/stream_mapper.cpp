#include "stream_mapper.hpp"

#include <avenor/sdk/json.hpp>

namespace avenor::claude {

namespace json = sdk::json;
using boost::json::object;

namespace {

object chunk(std::string_view event, const std::string& session_id, std::string_view text,
             const std::string& message_id) {
  object e{{"event", event},
           {"session_id", session_id},
           {"delta", text},
           {"content", object{{"type", "text"}, {"text", text}}}};
  if (!message_id.empty()) e["message_id"] = message_id;
  return e;
}

void add_parent(object& e, const object& message) {
  if (auto parent = json::find_string(message, "parent_tool_use_id"); parent && !parent->empty())
    e["parent_tool_use_id"] = *parent;
}

}  // namespace

std::string_view tool_kind(std::string_view name) {
  if (name == "Bash" || name == "BashOutput" || name == "KillShell") return "execute";
  if (name == "Edit" || name == "MultiEdit" || name == "Write" || name == "NotebookEdit")
    return "edit";
  if (name == "Read") return "read";
  if (name == "Grep" || name == "Glob") return "search";
  if (name == "WebFetch" || name == "WebSearch") return "fetch";
  return "other";
}

std::string tool_title(std::string_view name, const boost::json::value& input) {
  if (const object* in = input.if_object()) {
    for (const char* key : {"command", "file_path", "notebook_path", "path", "pattern", "url"})
      if (auto v = json::find_string(*in, key); v && !v->empty()) return *v;
  }
  return std::string(name);
}

std::vector<object> StreamMapper::map(const object& message, const std::string& session_id) {
  std::vector<object> out;
  const std::string type = json::string_or(message, "type");
  if (type == "stream_event") {
    map_stream_event(message, session_id, out);
  } else if (type == "assistant") {
    map_assistant(message, session_id, out);
  } else if (type == "user") {
    map_user(message, session_id, out);
  } else if (type == "system") {
    // status, api_retry, compact_boundary, …: kept for completeness, minus
    // the per-line uuid.
    object e = message;
    e.erase("type");
    e.erase("uuid");
    e["event"] = "avenor.system." + json::string_or(message, "subtype", "unknown");
    e["session_id"] = session_id;
    out.push_back(std::move(e));
  }
  return out;
}

void StreamMapper::reset_turn() {
  streamed_.clear();
  current_message_id_.clear();
}

void StreamMapper::map_stream_event(const object& message, const std::string& session_id,
                                    std::vector<object>& out) {
  const object* event = json::find_object(message, "event");
  if (!event) return;
  const std::string type = json::string_or(*event, "type");
  if (type == "message_start") {
    if (const object* m = json::find_object(*event, "message"))
      current_message_id_ = json::string_or(*m, "id");
    return;
  }
  if (type != "content_block_delta") return;
  const object* delta = json::find_object(*event, "delta");
  if (!delta) return;
  const std::string delta_type = json::string_or(*delta, "type");
  std::string_view name;
  std::string text;
  if (delta_type == "text_delta") {
    name = "agent.message_chunk";
    text = json::string_or(*delta, "text");
  } else if (delta_type == "thinking_delta") {
    name = "agent.thought_chunk";
    text = json::string_or(*delta, "thinking");
  } else {
    return;  // input_json_delta, signature_delta: the assistant message has them whole
  }
  if (text.empty()) return;
  if (!current_message_id_.empty()) streamed_.insert(current_message_id_);
  object e = chunk(name, session_id, text, current_message_id_);
  add_parent(e, message);
  out.push_back(std::move(e));
}

void StreamMapper::map_assistant(const object& message, const std::string& session_id,
                                 std::vector<object>& out) {
  const object* m = json::find_object(message, "message");
  if (!m) return;
  const std::string id = json::string_or(*m, "id");
  const boost::json::array* content = json::find_array(*m, "content");
  if (!content) return;
  const bool streamed = !id.empty() && streamed_.contains(id);
  for (const auto& value : *content) {
    const object* block = value.if_object();
    if (!block) continue;
    const std::string type = json::string_or(*block, "type");
    object e;
    if (type == "text" || type == "thinking") {
      if (streamed) continue;
      const std::string text = json::string_or(*block, type == "text" ? "text" : "thinking");
      if (text.empty()) continue;
      e = chunk(type == "text" ? "agent.message_chunk" : "agent.thought_chunk", session_id, text,
                id);
    } else if (type == "tool_use" || type == "server_tool_use" || type == "mcp_tool_use") {
      const std::string name = json::string_or(*block, "name");
      const boost::json::value* input = block->if_contains("input");
      static const boost::json::value kNull;
      e = object{{"event", "tool.call"},
                 {"session_id", session_id},
                 {"toolCallId", json::string_or(*block, "id")},
                 {"title", tool_title(name, input ? *input : kNull)},
                 {"kind", tool_kind(name)},
                 {"status", "pending"},
                 {"rawInput", input ? *input : boost::json::value(object{})},
                 {"tool", name}};
      if (name == "Bash" && input && input->is_object())
        if (auto cmd = json::find_string(input->get_object(), "command")) e["command"] = *cmd;
    } else {
      continue;
    }
    add_parent(e, message);
    out.push_back(std::move(e));
  }
}

void StreamMapper::map_user(const object& message, const std::string& session_id,
                            std::vector<object>& out) {
  const object* m = json::find_object(message, "message");
  if (!m) return;
  const boost::json::array* content = json::find_array(*m, "content");
  if (!content) return;  // a plain string: a replayed prompt, not news
  for (const auto& value : *content) {
    const object* block = value.if_object();
    if (!block || json::string_or(*block, "type") != "tool_result") continue;
    object e{{"event", "tool.call_update"},
             {"session_id", session_id},
             {"toolCallId", json::string_or(*block, "tool_use_id")},
             {"status", json::bool_or(*block, "is_error") ? "failed" : "completed"}};
    if (const auto* c = block->if_contains("content")) e["content"] = *c;
    add_parent(e, message);
    out.push_back(std::move(e));
  }
}

}  // namespace avenor::claude
