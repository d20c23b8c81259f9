#include "message_update.hpp"

#include <avenor/sdk/json.hpp>
#include <string_view>

namespace avenor::pi {

namespace json = sdk::json;
using boost::json::object;

namespace {

// The sub-event without its cumulative copies (`partial`, `message`,
// `content`) and signatures, which repeat the whole message on every delta.
object trimmed(const object& ame) {
  object out;
  for (std::string_view key : {"type", "contentIndex", "delta", "reason", "stopReason",
                               "toolCallId", "toolName", "title", "kind"}) {
    if (const auto* v = ame.if_contains(key)) out[key] = *v;
  }
  if (const auto* call = json::find_object(ame, "toolCall")) {
    object small;
    for (std::string_view key : {"id", "name"})
      if (const auto* v = call->if_contains(key)) small[key] = *v;
    out["toolCall"] = std::move(small);
  }
  return out;
}

// The tool call a toolcall_* sub-event is about: its own toolCall (at end),
// else the block at contentIndex of the partial message (pi 0.73.1 names the
// call only there while streaming).
const object* streamed_tool_call(const object& ame) {
  if (const auto* call = json::find_object(ame, "toolCall")) return call;
  const auto* partial = json::find_object(ame, "partial");
  const auto* content = partial ? json::find_array(*partial, "content") : nullptr;
  auto index = json::find_int(ame, "contentIndex");
  if (!content || !index || *index < 0 || static_cast<std::size_t>(*index) >= content->size())
    return nullptr;
  return (*content)[static_cast<std::size_t>(*index)].if_object();
}

object tool_event(std::string_view name, const object& ame, const std::string& session_id,
                  std::string_view status) {
  object e{{"event", name}, {"session_id", session_id}, {"kind", "tool"}, {"status", status}};
  const object* call = streamed_tool_call(ame);
  std::string id = json::string_or(ame, "toolCallId");
  std::string tool = json::string_or(ame, "toolName");
  if (call) {
    if (id.empty()) id = json::string_or(*call, "id");
    if (tool.empty()) tool = json::string_or(*call, "name");
  }
  if (!id.empty()) e["toolCallId"] = id;
  if (!tool.empty()) e["toolName"] = tool;
  std::string title = json::string_or(ame, "title", tool);
  if (!title.empty()) e["title"] = title;
  if (auto delta = json::find_string(ame, "delta"); delta && !delta->empty()) e["delta"] = *delta;
  return e;
}

object chunk(std::string_view name, const std::string& delta, const std::string& session_id) {
  return {{"event", name},
          {"session_id", session_id},
          {"delta", delta},
          {"content", {{"type", "text"}, {"text", delta}}}};
}

object update_event(const object& ame, const std::string& session_id) {
  return {{"event", "avenor.message.update"},
          {"session_id", session_id},
          {"type", json::string_or(ame, "type")},
          {"assistantMessageEvent", trimmed(ame)}};
}

}  // namespace

std::vector<object> map_message_update(const object& pi_event, const std::string& session_id) {
  const object* ame = json::find_object(pi_event, "assistantMessageEvent");
  if (!ame) return {{{"event", "avenor.message.update"}, {"session_id", session_id}}};
  const std::string type = json::string_or(*ame, "type");
  const std::string delta = json::string_or(*ame, "delta");

  if (type == "text_delta") {
    if (delta.empty()) return {};
    return {chunk("agent.message_chunk", delta, session_id),
            {{"event", "avenor.message.delta"}, {"session_id", session_id}, {"text", delta}}};
  }
  if (type == "thinking_delta") {
    if (delta.empty()) return {};
    return {chunk("agent.thought_chunk", delta, session_id), update_event(*ame, session_id)};
  }
  if (type == "toolcall_start") return {tool_event("tool.call", *ame, session_id, "running")};
  if (type == "toolcall_delta" || type == "toolcall_update")
    return {tool_event("tool.call_update", *ame, session_id, "running")};
  if (type == "toolcall_end") {
    object e = tool_event("tool.call_update", *ame, session_id, "completed");
    if (const auto* call = json::find_object(*ame, "toolCall"))
      if (const auto* args = call->if_contains("arguments")) e["rawInput"] = *args;
    return {std::move(e)};
  }
  return {update_event(*ame, session_id)};
}

}  // namespace avenor::pi
