#include "loop/load_limits.hpp"

namespace avenor::host {

std::string nesting_too_deep_message(int limit) {
  return "nesting deeper than " + std::to_string(limit) + " levels";
}

std::string LoadBudget::charge_values(std::size_t count) {
  // Compared before adding, so the counter cannot wrap.
  if (count > kMaxLoadValues - values_)
    return "more than " + std::to_string(kMaxLoadValues) + " values (YAML aliases expanded)";
  values_ += count;
  return {};
}

std::string LoadBudget::charge_text(std::size_t bytes) {
  if (bytes > kMaxLoadTextBytes - text_bytes_)
    return "more than " + std::to_string(kMaxLoadTextBytes) +
           " bytes of text in the loop files and prompt files (YAML aliases expanded)";
  text_bytes_ += bytes;
  return {};
}

}  // namespace avenor::host
