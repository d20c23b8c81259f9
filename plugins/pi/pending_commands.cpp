#include "pending_commands.hpp"

#include <utility>

namespace avenor::pi {

bool PendingCommands::resolve(const std::string& id, const CommandResult& result) {
  auto it = handlers_.find(id);
  if (it == handlers_.end()) return false;
  Handler handler = std::move(it->second);
  handlers_.erase(it);  // before running it: the handler may send new commands
  if (handler) handler(result);
  return true;
}

void PendingCommands::fail_all(const std::string& error) {
  CommandResult failure;
  failure.error = error;
  for (auto& [id, handler] : std::exchange(handlers_, {}))
    if (handler) handler(failure);
}

}  // namespace avenor::pi
