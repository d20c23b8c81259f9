#include "agent_end.hpp"

#include <avenor/sdk/json.hpp>
#include <cstdint>

namespace avenor::pi {

namespace json = sdk::json;
using boost::json::object;

std::string map_stop_reason(std::string_view raw) {
  if (raw == "stop") return "end_turn";
  if (raw == "length") return "max_tokens";
  if (raw == "toolUse") return "tool_use";
  if (raw == "aborted") return "cancelled";
  if (raw == "error") return "error";
  return std::string(raw);
}

std::string message_text(const object& message) {
  const boost::json::value* content = message.if_contains("content");
  if (!content) return {};
  if (content->is_string()) return std::string(content->get_string());
  std::string text;
  if (const auto* blocks = content->if_array()) {
    for (const auto& block : *blocks) {
      const auto* b = block.if_object();
      if (b && json::string_or(*b, "type") == "text") text += json::string_or(*b, "text");
    }
  }
  return text;
}

namespace {

// pi's usage {input, output, cacheRead, totalTokens}, summed over the turn's
// assistant messages (a tool turn makes one model call per step).
std::optional<object> summed_usage(const boost::json::array& messages) {
  std::int64_t input = 0, output = 0, cached = 0, total = 0;
  bool any = false;
  for (const auto& m : messages) {
    const auto* msg = m.if_object();
    const auto* usage = msg ? json::find_object(*msg, "usage") : nullptr;
    if (!usage || json::string_or(*msg, "role") != "assistant") continue;
    any = true;
    std::int64_t in = json::find_int(*usage, "input").value_or(0);
    std::int64_t out = json::find_int(*usage, "output").value_or(0);
    input += in;
    output += out;
    cached += json::find_int(*usage, "cacheRead").value_or(0);
    total += json::find_int(*usage, "totalTokens").value_or(in + out);
  }
  if (!any) return std::nullopt;
  return object{{"input_tokens", input},
                {"output_tokens", output},
                {"total_tokens", total},
                {"cached_read_tokens", cached}};
}

}  // namespace

AgentEnd AgentEnd::from_event(const object& e) {
  AgentEnd end;
  end.will_retry = json::bool_or(e, "willRetry");
  const object* last = nullptr;
  if (const auto* messages = json::find_array(e, "messages")) {
    // The last assistant message carries the stop reason; a trailing tool
    // result or user message (an abort between steps) does not.
    for (auto it = messages->rbegin(); it != messages->rend() && !last; ++it) {
      const auto* m = it->if_object();
      if (m && json::string_or(*m, "role") == "assistant") last = m;
    }
    if (!last && !messages->empty()) last = messages->back().if_object();
    end.usage = summed_usage(*messages);
  }
  if (last) {
    end.final_output = message_text(*last);
    end.error_message = json::string_or(*last, "errorMessage");
    if (auto raw = json::find_string(*last, "stopReason")) {
      end.stop_reason = map_stop_reason(*raw);
      return end;
    }
    if (auto verbatim = json::find_string(*last, "stop_reason")) {
      end.stop_reason = *verbatim;
      return end;
    }
  }
  end.stop_reason = json::string_or(e, "stop_reason");
  return end;
}

TurnResult turn_result(std::string_view stop_reason) {
  if (stop_reason == "cancelled") return TurnResult::cancelled;
  if (stop_reason == "error") return TurnResult::error;
  return TurnResult::success;
}

object session_end_event(const AgentEnd& end, const std::string& session_id) {
  object e{{"event", "session.end"}, {"session_id", session_id}, {"stop_reason", end.stop_reason}};
  if (!end.final_output.empty()) e["final_output"] = end.final_output;
  if (!end.error_message.empty()) e["error_message"] = end.error_message;
  if (end.usage) e["usage"] = *end.usage;
  return e;
}

}  // namespace avenor::pi
