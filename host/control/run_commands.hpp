// What a control client may ask of a live run (control.md §6). The run
// engine implements it; the socket server and the HTTP adapter call it
// through the ControlPlane. Everything runs on the run's one Asio thread.
#pragma once

#include <optional>
#include <string>

namespace avenor::host {

// Outcome of answering a pending permission from a control surface.
enum class AnswerStatus {
  accepted,    // delivered to the run, or the request was already resolved
  no_pending,  // unknown request, option not offered, message missing, answer queued…
  delegated,   // another resolver (the file handler) owns the request
};

class RunCommands {
 public:
  virtual ~RunCommands() = default;
  virtual void cancel() = 0;
  virtual void prompt(std::string text) = 0;
  virtual void interrupt_and_prompt(std::string text, bool keep_queue) = 0;
  virtual AnswerStatus answer_permission(const std::string& request_id,
                                         const std::string& option_id,
                                         const std::optional<std::string>& message) = 0;
  virtual void release_claim(const std::string& request_id) = 0;
};

}  // namespace avenor::host
