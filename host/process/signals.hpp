// Process-wide signal dispositions the host needs before it starts children.
#pragma once

namespace avenor::host {

// Ignores SIGPIPE so a write to a dead child's stdin (or a closed socket)
// fails with EPIPE instead of killing avenor. Call once at the start of
// main. Children get SIGPIPE reset to the default before exec.
// Throws std::system_error if sigaction fails.
void ignore_sigpipe();

// SIGINT, SIGTERM and SIGHUP, the signals that end a command.
// main() blocks them as its first statement, so one that arrives while a
// command is still setting up (before `run` has removed the previous
// sentinel, for example) stays pending instead of killing avenor by its
// default action. A command unblocks them once its handlers are installed
// (an Asio signal_set); a command without handlers unblocks them at once.
// A pending signal is delivered by the unblock call. Children never inherit
// the blocked mask: ChildProcess and DetachedProcess reset it before exec.
void block_termination_signals();
void unblock_termination_signals();

}  // namespace avenor::host
