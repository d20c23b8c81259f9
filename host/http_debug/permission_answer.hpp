// The body of POST /answer-permission (control.md §9, §6.2):
// {request_id, option_id, message?}, validated before it reaches the run.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace avenor::host {

struct PermissionAnswer {
  std::string request_id;
  std::string option_id;
  std::optional<std::string> message;
};

// Why a body was refused; each maps to one 400 text.
enum class PermissionAnswerError {
  invalid_json,     // not a JSON object, or an id missing, empty or not a string
  invalid_message,  // message not a string, invalid UTF-8 or over the limit
};

inline constexpr std::size_t kMaxPermissionMessageBytes = 64 * 1024;

std::variant<PermissionAnswer, PermissionAnswerError> parse_permission_answer(
    std::string_view body);

}  // namespace avenor::host
