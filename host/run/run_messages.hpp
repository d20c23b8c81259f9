// What a run's mailbox carries. Messages from a backend connection carry the
// attempt generation they belong to, so late news from a closed attempt is
// recognised and dropped.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "events/backend_event.hpp"
#include "permissions/file_permission_handler.hpp"
#include "plugin_host/backend_connection.hpp"

namespace avenor::host {

// Why a run is being stopped from outside the backend.
enum class StopCause { cancelled, timeout };

// The stop reason a run stopped from outside ends with.
inline const char* stop_reason_for(StopCause cause) {
  return cause == StopCause::cancelled ? "cancelled" : "timeout";
}

enum class OperationKind { start_session, prompt, cancel, answer_permission, close };
enum class TimerKind { progress, cancel_deadline, backoff, claim, parked };
inline constexpr int kTimerKinds = 5;

// Events a backend emitted back to back (one posted batch), handled in order
// from `next` on; a batch cut short goes back to the front of the mailbox.
struct BackendEventMessage {
  unsigned generation;
  std::vector<BackendEvent> events;
  std::size_t next = 0;
};
struct OperationDoneMessage {
  unsigned generation;
  OperationKind kind;
  OperationResult result;
};
struct BackendClosedMessage {
  unsigned generation;
  std::string reason;
};
struct PermissionDecisionMessage {
  unsigned generation;
  std::string request_id;
  std::string source;                // avenor, control, file, policy or timeout
  std::optional<FileAnswer> answer;  // empty on error
  std::string error;
};
struct InterruptMessage {
  StopCause cause;
};
// A control client's interrupt_and_prompt: the in-flight turn is cancelled
// and the stored interrupt text becomes the next turn.
struct TurnInterruptMessage {};
// A control client queued a prompt: wakes a parked run (cli.md §3.14).
struct PromptQueuedMessage {};
// A control claim on a permission ended unanswered (claim timeout,
// release_claim, every client gone): resolution moves on.
struct ClaimEndedMessage {
  std::string request_id;
};
struct TimerMessage {
  TimerKind kind;
  unsigned epoch;  // which arming of the timer fired; older ones are stale
};

using RunMessage = std::variant<BackendEventMessage, OperationDoneMessage, BackendClosedMessage,
                                PermissionDecisionMessage, InterruptMessage, TurnInterruptMessage,
                                PromptQueuedMessage, ClaimEndedMessage, TimerMessage>;

}  // namespace avenor::host
