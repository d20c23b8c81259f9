// opencode's words for how a turn ended, in avenor's stop reasons
// (backends.md §2.3, §2.4).
#pragma once

#include <string>
#include <string_view>

namespace avenor::opencode_http {

// A message error name (`info.error.name`, `session.error`): an abort is a
// cancellation, any other name is passed on verbatim.
std::string stop_reason_for_error(std::string_view name);

// An assistant message's `finish`: "stop" is end_turn, "" is no stop reason
// at all; "tool-calls" is end_turn too (opencode 1.18 ends a turn that way
// when its loop halts after a tool step, e.g. a rejected permission); other
// values are passed on verbatim.
std::string stop_reason_for_finish(std::string_view finish);

}  // namespace avenor::opencode_http
