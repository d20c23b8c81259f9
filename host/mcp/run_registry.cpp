#include "mcp/run_registry.hpp"

#include <algorithm>

namespace avenor::host::mcp {

RunRecord& RunRegistry::add(RunRecord record) {
  std::erase_if(runs_, [&](const auto& r) { return r->run_id == record.run_id; });
  runs_.push_back(std::make_unique<RunRecord>(std::move(record)));
  return *runs_.back();
}

RunRecord* RunRegistry::find(const std::string& key, const std::string& supervisor_id) {
  if (key.empty()) return nullptr;
  for (auto& r : runs_)
    if (r->run_id == key) return r.get();
  if (RunRecord* r = newest_on_runtime(supervisor_id, key)) return r;
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it)
    if ((*it)->label == key && (*it)->supervisor_id == supervisor_id) return it->get();
  return nullptr;
}

RunRecord* RunRegistry::newest_on_runtime(const std::string& supervisor_id,
                                          const std::string& runtime_id) {
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it)
    if ((*it)->runtime_id == runtime_id && (*it)->supervisor_id == supervisor_id) return it->get();
  return nullptr;
}

std::vector<RunRecord*> RunRegistry::on_supervisor(const std::string& supervisor_id) {
  std::vector<RunRecord*> out;
  for (auto& r : runs_)
    if (r->supervisor_id == supervisor_id) out.push_back(r.get());
  return out;
}

void RunRegistry::remove_supervisor(const std::string& supervisor_id) {
  // Waits in flight may still hold a record: removed ones are retired, not
  // destroyed, for the life of the server.
  for (auto& r : runs_)
    if (r->supervisor_id == supervisor_id) retired_.push_back(std::move(r));
  std::erase_if(runs_, [](const auto& r) { return r == nullptr; });
}

}  // namespace avenor::host::mcp
