// Commands sent to pi that still wait for their `{type:"response", id}`.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <string>

namespace avenor::pi {

// pi's answer to one command: `success` and `error` of the response, or a
// failure made up locally when pi exited before answering.
struct CommandResult {
  bool success = false;
  std::string error;
  boost::json::object response;  // the whole response line (empty when made up)
};

class PendingCommands {
 public:
  using Handler = std::function<void(const CommandResult&)>;

  void add(std::string id, Handler handler) {
    handlers_.insert_or_assign(std::move(id), std::move(handler));
  }

  // Runs and forgets the handler of `id`; false when none waits for it.
  bool resolve(const std::string& id, const CommandResult& result);

  // Fails every waiting command with `error` (pi is gone).
  void fail_all(const std::string& error);

  bool empty() const { return handlers_.empty(); }

 private:
  std::map<std::string, Handler> handlers_;
};

}  // namespace avenor::pi
