#include "result_mapper.hpp"

#include <avenor/sdk/json.hpp>

namespace avenor::claude {

namespace json = sdk::json;
using boost::json::object;

namespace {

std::int64_t count(const object& usage, std::string_view key) {
  return json::find_int(usage, key).value_or(0);
}

std::string joined_errors(const object& result) {
  std::string out;
  if (const auto* errors = json::find_array(result, "errors"))
    for (const auto& e : *errors)
      if (const auto* s = e.if_string()) {
        if (!out.empty()) out += "; ";
        out += *s;
      }
  return out;
}

}  // namespace

boost::json::value normalized_usage(const object& usage) {
  const std::int64_t cached = count(usage, "cache_read_input_tokens");
  const std::int64_t input =
      count(usage, "input_tokens") + count(usage, "cache_creation_input_tokens") + cached;
  const std::int64_t output = count(usage, "output_tokens");
  return object{{"input_tokens", input},
                {"output_tokens", output},
                {"total_tokens", input + output},
                {"cached_read_tokens", cached}};
}

TurnEnd TurnEnd::from_result(const object& result, bool interrupt_requested) {
  TurnEnd end;
  const std::string subtype = json::string_or(result, "subtype");
  const bool is_error = json::bool_or(result, "is_error");
  const std::string terminal = json::string_or(result, "terminal_reason");
  if (const object* usage = json::find_object(result, "usage"))
    end.usage = normalized_usage(*usage);
  if (const auto* cost = result.if_contains("total_cost_usd"); cost && cost->is_number())
    end.total_cost_usd = *cost;
  if (const auto* turns = result.if_contains("num_turns"); turns && turns->is_number())
    end.num_turns = *turns;

  const bool aborted = terminal.rfind("aborted", 0) == 0;
  if ((interrupt_requested && (is_error || subtype != "success")) || aborted) {
    end.stop_reason = "cancelled";
    end.result = TurnResult::cancelled;
    return end;
  }
  if (is_error || subtype.rfind("error", 0) == 0) {
    if (subtype == "error_max_turns") {  // a stop reason of its own (exit 4), not a failure
      end.stop_reason = "max_turn_requests";
      return end;
    }
    end.stop_reason = "error";
    end.result = TurnResult::error;
    end.error_message = json::string_or(result, "result");
    if (end.error_message.empty()) end.error_message = joined_errors(result);
    if (end.error_message.empty()) end.error_message = "claude: the turn ended with " + subtype;
    return end;
  }
  std::string stop = json::string_or(result, "stop_reason");
  if (stop.empty() || stop == "stop_sequence") stop = "end_turn";
  end.stop_reason = std::move(stop);
  end.final_output = json::string_or(result, "result");
  return end;
}

object TurnEnd::session_end(const std::string& session_id) const {
  object e{{"event", "session.end"}, {"session_id", session_id}, {"stop_reason", stop_reason}};
  if (!usage.is_null()) e["usage"] = usage;
  if (!total_cost_usd.is_null()) e["total_cost_usd"] = total_cost_usd;
  if (!num_turns.is_null()) e["num_turns"] = num_turns;
  if (!final_output.empty()) e["final_output"] = final_output;
  if (!error_message.empty()) e["error_message"] = error_message;
  return e;
}

}  // namespace avenor::claude
