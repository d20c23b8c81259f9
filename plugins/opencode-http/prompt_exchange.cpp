#include "prompt_exchange.hpp"

#include <avenor/sdk/json.hpp>
#include <stdexcept>

#include "stop_reason.hpp"

namespace avenor::opencode_http {

namespace json = sdk::json;

std::optional<ModelRef> split_model(std::string_view model) {
  if (model.empty()) return std::nullopt;
  auto slash = model.find('/');
  if (slash == std::string_view::npos) return ModelRef{"", std::string(model)};
  return ModelRef{std::string(model.substr(0, slash)), std::string(model.substr(slash + 1))};
}

boost::json::object prompt_body(std::string_view text, std::string_view model,
                                std::string_view agent) {
  boost::json::object body{
      {"parts", boost::json::array{boost::json::object{{"type", "text"}, {"text", text}}}}};
  if (!agent.empty()) body["agent"] = agent;
  if (auto ref = split_model(model)) {
    boost::json::object m{{"modelID", ref->model_id}};
    if (!ref->provider_id.empty()) m["providerID"] = ref->provider_id;
    body["model"] = std::move(m);
  }
  return body;
}

boost::json::object normalize_usage(const boost::json::object& tokens) {
  std::int64_t input = json::find_int(tokens, "input").value_or(0);
  std::int64_t output = json::find_int(tokens, "output").value_or(0);
  std::int64_t total = json::find_int(tokens, "total").value_or(input + output);
  std::int64_t cached = 0;
  if (const auto* cache = json::find_object(tokens, "cache"))
    cached = json::find_int(*cache, "read").value_or(0);
  return {{"input_tokens", input},
          {"output_tokens", output},
          {"total_tokens", total},
          {"cached_read_tokens", cached}};
}

PromptResult parse_prompt_response(std::string_view body) {
  boost::json::value v = json::parse(body);
  const boost::json::object* response = v.if_object();
  const boost::json::object* info = response ? json::find_object(*response, "info") : nullptr;
  if (!info) throw std::runtime_error("message response has no info object");

  PromptResult r;
  if (const auto* error = json::find_object(*info, "error")) {
    r.error_name = json::string_or(*error, "name", "UnknownError");
    if (const auto* data = json::find_object(*error, "data"))
      r.error_message = json::string_or(*data, "message");
    r.stop_reason = stop_reason_for_error(r.error_name);
  } else {
    r.stop_reason = stop_reason_for_finish(json::string_or(*info, "finish"));
  }
  if (const auto* tokens = json::find_object(*info, "tokens")) r.usage = normalize_usage(*tokens);
  if (const auto* parts = json::find_array(*response, "parts")) {
    for (const auto& p : *parts) {
      const auto* part = p.if_object();
      if (part && json::string_or(*part, "type") == "text" && !json::bool_or(*part, "synthetic") &&
          !json::bool_or(*part, "ignored"))
        r.text += json::string_or(*part, "text");
    }
  }
  return r;
}

}  // namespace avenor::opencode_http
