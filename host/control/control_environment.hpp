// The two environment variables a control server consumes at start
// (control.md §1 steps 5–6, §10.17 rule 3): both are removed from the
// environment so backend processes never inherit them.
#pragma once

#include <string>

namespace avenor::host {

// Reads and unsets AVENOR_CONTROL_IDENTITY_TOKEN ("" if unset).
std::string take_identity_token();

// If AVENOR_CONTROL_READY_FD names an fd ≥ 3, writes one byte 0x01 to it and
// closes it. The variable is unset either way.
void signal_control_ready();

}  // namespace avenor::host
