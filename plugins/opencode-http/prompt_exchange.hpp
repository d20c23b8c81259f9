// POST /session/{id}/message (backends.md §2.2): the request body avenor
// sends and what it reads from the response.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::opencode_http {

struct ModelRef {
  std::string provider_id;  // empty when the model had no '/'
  std::string model_id;
};

// "provider/model" split at the first '/'; no slash → only a model id;
// "" → nullopt.
std::optional<ModelRef> split_model(std::string_view model);

// {parts:[{type:"text",text}], agent?, model?:{providerID, modelID}}
boost::json::object prompt_body(std::string_view text, std::string_view model,
                                std::string_view agent);

// What the response says about the turn.
struct PromptResult {
  std::string stop_reason;                   // "" when the response names none
  std::string error_name;                    // info.error.name, if any
  std::string error_message;                 // info.error.data.message, if any
  std::optional<boost::json::object> usage;  // normalized (events.md §3)
  std::string text;                          // the text parts of the reply, concatenated
};

// Reads a 200 response body ({info:{finish?, error?, tokens?}, parts:[…]}).
// Throws std::runtime_error when the body is not such an object.
PromptResult parse_prompt_response(std::string_view body);

// opencode's token counts {input, output, reasoning, total?, cache{read}} as
// {input_tokens, output_tokens, total_tokens, cached_read_tokens}.
boost::json::object normalize_usage(const boost::json::object& tokens);

}  // namespace avenor::opencode_http
