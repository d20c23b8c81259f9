// The ACP compact reader (sdk/acp_compact_update.hpp) against the full parser:
// the reader copies an update's bytes instead of re-encoding them, so for any
// frame both paths must agree on whether there is an event and, when there
// is, produce it byte for byte the same (issue 15). The input is one frame.
#include <avenor/sdk/acp_backend.hpp>
#include <avenor/sdk/acp_update_scanner.hpp>
#include <cstddef>
#include <cstdint>

#include "fuzz_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using avenor::sdk::EventText;
  const std::string_view frame = avenor::fuzz::as_text(data, size);
  avenor::sdk::acp::UpdateScanner scanner(&avenor::sdk::acp::event_for_update);
  EventText fast, full;
  const bool fast_ok = scanner.scan(frame, fast);
  const bool full_ok = scanner.parse(frame, full);
  avenor::fuzz::require(fast_ok == full_ok, "the compact path and the parser disagree on an event");
  if (!fast_ok) return 0;
  avenor::fuzz::require(fast.json() == full.json() && fast.type() == full.type() &&
                            fast.session_id() == full.session_id() && fast.text() == full.text() &&
                            fast.has_usage() == full.has_usage(),
                        "the compact path's event differs from the parser's");
  return 0;
}
