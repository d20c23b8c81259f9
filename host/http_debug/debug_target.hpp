// What the HTTP debug routes need from the process they serve (control.md
// §9). A single run (RunDebugTarget) and the `stable` supervisor answer the
// same routes differently, so each implements this interface and decides
// its own outcomes for runtime-scoped calls.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>

#include "control/event_hub.hpp"
#include "control/run_commands.hpp"

namespace avenor::host {

// Outcome of a call whose HTTP status depends on the target. The server maps
// it: ok → 200 with `body` as JSON; bad_request → 400, not_found → 404 with
// `message` as a plain-text line; failed → 500 {"error": message}.
struct DebugReply {
  enum class Kind { ok, bad_request, not_found, failed };
  Kind kind = Kind::ok;
  boost::json::object body;
  std::string message;

  static DebugReply ok(boost::json::object body) { return {Kind::ok, std::move(body), {}}; }
  static DebugReply error(Kind kind, std::string message) { return {kind, {}, std::move(message)}; }
};

class DebugTarget {
 public:
  virtual ~DebugTarget() = default;

  virtual bool is_supervisor() const = 0;
  // GET /status: the snapshot (control.md §7), final_output already bounded.
  virtual boost::json::object status() = 0;
  // GET /status/<runtime_id> (the id may be empty).
  virtual DebugReply runtime_status(const std::string& runtime_id) = 0;
  // POST /cancel.
  virtual DebugReply cancel() = 0;
  // POST /cancel/<runtime_id> (the id may be empty).
  virtual DebugReply cancel_runtime(const std::string& runtime_id) = 0;
  // POST /answer-permission, ids and message already validated.
  virtual AnswerStatus answer_permission(const std::string& request_id,
                                         const std::string& option_id,
                                         const std::optional<std::string>& message) = 0;
  // GET /events: a live subscription (empty filter = every event); no replay.
  virtual std::shared_ptr<EventSubscription> subscribe(const std::string& runtime_filter) = 0;
};

}  // namespace avenor::host
