#include "stop_reason.hpp"

namespace avenor::opencode_http {

std::string stop_reason_for_error(std::string_view name) {
  if (name == "MessageAbortedError") return "cancelled";
  return std::string(name);
}

std::string stop_reason_for_finish(std::string_view finish) {
  if (finish == "stop" || finish == "tool-calls") return "end_turn";
  return std::string(finish);
}

}  // namespace avenor::opencode_http
