// Process-wide signal dispositions the host needs before it starts children.
#pragma once

namespace avenor::host {

// Ignores SIGPIPE so a write to a dead child's stdin (or a closed socket)
// fails with EPIPE instead of killing avenor. Call once at the start of
// main. Children get SIGPIPE reset to the default before exec.
// Throws std::system_error if sigaction fails.
void ignore_sigpipe();

}  // namespace avenor::host
