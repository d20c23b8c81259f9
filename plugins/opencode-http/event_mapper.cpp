#include "event_mapper.hpp"

#include <avenor/sdk/json.hpp>
#include <stdexcept>

#include "permission_options.hpp"

namespace avenor::opencode_http {

namespace json = sdk::json;
using boost::json::object;

namespace {

bool ignored_type(std::string_view type) {
  return type == "server.connected" || type == "server.heartbeat" || type == "session.diff" ||
         type == "session.updated" || type == "session.idle";
}

// {event, session_id?, ...properties}; a property never shadows the envelope.
object passthrough(std::string_view name, std::string_view session_id, const object& properties) {
  object event{{"event", name}};
  if (!session_id.empty()) event["session_id"] = session_id;
  for (const auto& [key, value] : properties) event.emplace(key, value);
  return event;
}

std::string question_for(const object& properties) {
  std::string question = json::string_or(properties, "permission", "permission");
  std::string patterns;
  if (const auto* list = json::find_array(properties, "patterns")) {
    for (const auto& p : *list) {
      if (!p.is_string()) continue;
      if (!patterns.empty()) patterns += ", ";
      patterns.append(p.get_string());
    }
  }
  return patterns.empty() ? question : question + ": " + patterns;
}

}  // namespace

MappedEvent EventMapper::map(std::string_view payload, std::string_view sse_id) {
  boost::json::value v = json::parse(payload);
  const object* root = v.if_object();
  auto type = root ? json::find_string(*root, "type") : std::nullopt;
  if (!type) throw std::runtime_error("SSE payload without a string type");
  static const object kNone;
  const object* found = json::find_object(*root, "properties");
  const object& properties = found ? *found : kNone;

  MappedEvent m;
  m.type = *type;
  m.session_id = json::string_or(properties, "sessionID");

  if (m.type == "server.connected") {
    m.server_connected = true;
    return m;
  }
  if (ignored_type(m.type)) return m;

  if (m.type == "session.status") {
    const object* status = json::find_object(properties, "status");
    std::string kind = status ? json::string_or(*status, "type") : std::string();
    if (kind == "busy") m.signal = SessionSignal::busy;
    if (kind == "idle") m.signal = SessionSignal::idle;
    // A retry is opencode silently retrying a failing model: worth seeing.
    if (kind == "retry") m.event = passthrough("http.session.status", m.session_id, properties);
    return m;
  }
  if (m.type == "session.error") {
    m.signal = SessionSignal::error;
    if (const object* error = json::find_object(properties, "error")) {
      m.error_name = json::string_or(*error, "name", "UnknownError");
      if (const object* data = json::find_object(*error, "data"))
        m.error_message = json::string_or(*data, "message");
    } else {
      m.error_name = "UnknownError";
    }
    return m;
  }
  if (m.type == "message.part.delta") {
    std::string field = json::string_or(properties, "field");
    std::string part_id = json::string_or(properties, "partID");
    std::string_view part = part_type(part_id);
    const char* name = "agent.message_chunk";
    if (field == "reasoning" || part == "reasoning") {
      name = "agent.thought_chunk";
    } else if (!part.empty() && part != "text") {
      // A delta of some other part (a tool's input, say) is not reply text.
      m.event = passthrough("http.message.part.delta", m.session_id, properties);
      return m;
    }
    m.event = object{{"event", name},
                     {"session_id", m.session_id},
                     {"delta", json::string_or(properties, "delta")},
                     {"message_id", json::string_or(properties, "messageID")},
                     {"part_id", part_id}};
    return m;
  }
  if (m.type == "message.part.updated") remember_part(properties);

  if (m.type == "permission.asked" || m.type == "permission.request") {
    object event = passthrough("permission.request", m.session_id, properties);
    std::string request_id;
    if (m.type == "permission.asked") {
      request_id = json::string_or(properties, "id");
      event["tool"] = "permission." + json::string_or(properties, "permission");
      // opencode's own tool reference {messageID, callID}, kept under its own name.
      if (const auto* tool = json::find(properties, "tool")) event["tool_ref"] = *tool;
      const auto* always = json::find_array(properties, "always");
      event["options"] = synthesized_options(request_id, always && !always->empty());
    } else {
      request_id = json::string_or(properties, "requestID", sse_id);
      if (!json::find_array(properties, "options"))
        event["options"] = synthesized_options(request_id, false);
    }
    event["request_id"] = request_id;
    if (!event.contains("question")) event["question"] = question_for(properties);
    event.erase("requestID");
    m.permission = PermissionRequest{request_id, event["options"].as_array()};
    m.event = std::move(event);
    return m;
  }
  if (m.type == "permission.replied")
    m.answered_request_id = json::string_or(properties, "requestID");
  m.event = passthrough("http." + m.type, m.session_id, properties);
  return m;
}

void EventMapper::remember_part(const object& properties) {
  const object* part = json::find_object(properties, "part");
  if (!part) return;
  auto id = json::find_string(*part, "id");
  auto type = json::find_string(*part, "type");
  if (!id || !type) return;
  if (part_types_.size() >= kMaxKnownParts && !part_types_.contains(*id)) part_types_.clear();
  part_types_[*id] = *type;
}

std::string_view EventMapper::part_type(std::string_view part_id) const {
  auto it = part_types_.find(std::string(part_id));
  return it == part_types_.end() ? std::string_view{} : std::string_view(it->second);
}

}  // namespace avenor::opencode_http
