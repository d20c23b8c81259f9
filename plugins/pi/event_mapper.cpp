#include "event_mapper.hpp"

#include <avenor/sdk/json.hpp>
#include <string_view>
#include <utility>

#include "message_update.hpp"

namespace avenor::pi {

namespace json = sdk::json;
using boost::json::object;

namespace {

// Lifecycle markers carry no payload: pi repeats the whole message in them.
object marker(std::string_view name, const std::string& session_id) {
  return {{"event", name}, {"session_id", session_id}};
}

// tool_execution_{start,update,end} → tool.call / tool.call_update plus the
// avenor.tool.* copy, both with every payload field.
std::vector<object> tool_execution(const object& e, const std::string& session_id,
                                   std::string_view phase) {
  const bool start = phase == "start";
  object canonical{
      {"event", start ? "tool.call" : "tool.call_update"},
      {"session_id", session_id},
      {"kind", "tool"},
      {"title", json::string_or(e, "toolName")},
      {"status",
       start ? "running" : json::string_or(e, "status", phase == "end" ? "completed" : "running")}};
  if (start)
    if (const auto* args = e.if_contains("args")) canonical["rawInput"] = *args;
  object copy = passthrough_event("avenor.tool." + std::string(phase), e, session_id);
  for (const auto& [key, value] : e)
    if (key != "type") canonical.emplace(key, value);  // emplace: never over the envelope
  return {std::move(canonical), std::move(copy)};
}

}  // namespace

object passthrough_event(const std::string& name, const object& pi_event,
                         const std::string& session_id) {
  object e{{"event", name}, {"session_id", session_id}};
  for (const auto& [key, value] : pi_event)
    if (key != "type") e.emplace(key, value);
  return e;
}

std::vector<object> map_event(const object& e, const std::string& session_id) {
  const std::string type = json::string_or(e, "type");
  if (type == "agent_start") return {marker("session.start", session_id)};
  if (type == "turn_start") return {marker("avenor.turn.start", session_id)};
  if (type == "turn_end") return {marker("avenor.turn.end", session_id)};
  if (type == "message_start") return {marker("avenor.message.start", session_id)};
  if (type == "message_end") return {marker("avenor.message.end", session_id)};
  if (type == "message_update") return map_message_update(e, session_id);
  if (type == "tool_execution_start") return tool_execution(e, session_id, "start");
  if (type == "tool_execution_update") return tool_execution(e, session_id, "update");
  if (type == "tool_execution_end") return tool_execution(e, session_id, "end");
  if (type == "compaction_start")
    return {passthrough_event("avenor.compaction.start", e, session_id)};
  if (type == "compaction_end") return {passthrough_event("avenor.compaction.end", e, session_id)};
  if (type == "queue_update") return {passthrough_event("avenor.queue.update", e, session_id)};
  if (type == "auto_retry_start")
    return {passthrough_event("avenor.auto_retry.start", e, session_id)};
  if (type == "auto_retry_end") return {passthrough_event("avenor.auto_retry.end", e, session_id)};
  if (type == "extension_error")
    return {passthrough_event("avenor.extension.error", e, session_id)};
  return {
      passthrough_event("avenor." + (type.empty() ? std::string("unknown") : type), e, session_id)};
}

}  // namespace avenor::pi
