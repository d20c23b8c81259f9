#include "control/bounded_output.hpp"

#include "util/utf8.hpp"

namespace avenor::host {

std::size_t utf8_prefix_bytes(std::string_view text, std::size_t max_runes) {
  std::size_t i = 0;
  for (std::size_t runes = 0; i < text.size() && runes < max_runes; ++runes) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t len = utf8_lead_length(lead);
    std::size_t j = 1;
    while (j < len && i + j < text.size() &&
           (static_cast<unsigned char>(text[i + j]) & 0xC0) == 0x80)
      ++j;
    i += j;  // a truncated sequence counts as one rune of what it has
  }
  return i;
}

void bound_final_output(boost::json::object& event) {
  auto* v = event.if_contains("final_output");
  if (!v || !v->is_string()) return;
  std::string_view text = v->get_string();
  std::size_t keep = utf8_prefix_bytes(text, kControlOutputRunes);
  if (keep >= text.size()) return;
  *v = boost::json::string(text.substr(0, keep));
  event["final_output_truncated"] = true;
}

}  // namespace avenor::host
