#include "run/session_identity.hpp"

namespace avenor::host {

std::string_view SessionIdentityMap::resolve(std::string_view id) const {
  // Adoption only ever points at a newer id, but bound the walk anyway.
  for (int hops = 0; hops < 16; ++hops) {
    auto it = aliases_.find(id);
    if (it == aliases_.end()) break;
    id = it->second;
  }
  return id;
}

const SessionIdentity* SessionIdentityMap::find(std::string_view id) const {
  auto it = entries_.find(resolve(id));
  return it == entries_.end() ? nullptr : &it->second.identity;
}

std::optional<std::string> SessionIdentityMap::fill_for_resume(std::string_view id,
                                                               SessionIdentity& identity) const {
  const SessionIdentity* known = find(id);
  if (!known) return std::nullopt;
  struct Field {
    const char* name;
    std::string SessionIdentity::*member;
  };
  static constexpr Field kFields[] = {{"backend", &SessionIdentity::backend},
                                      {"agent", &SessionIdentity::agent},
                                      {"model", &SessionIdentity::model},
                                      {"agent_profile", &SessionIdentity::agent_profile}};
  // Check every field before filling any, so a refused resume leaves
  // `identity` as it was.
  for (const auto& f : kFields) {
    const std::string& mine = identity.*f.member;
    const std::string& theirs = known->*f.member;
    // An empty recorded field (the backend's default) constrains nothing.
    if (!mine.empty() && !theirs.empty() && mine != theirs)
      return "cannot resume session \"" + std::string(id) + "\" with " + f.name + " \"" + mine +
             "\": session belongs to " + f.name + " \"" + theirs + "\"";
  }
  for (const auto& f : kFields)
    if ((identity.*f.member).empty()) identity.*f.member = known->*f.member;
  return std::nullopt;
}

bool SessionIdentityMap::claim(std::string_view id, const SessionIdentity& identity, Owner owner) {
  if (owner == 0 || released_.contains(owner)) return false;
  const std::string_view key = resolve(id);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    entries_.emplace(std::string(key), Entry{identity, owner});
    return true;
  }
  Entry& e = it->second;
  if (e.owner != 0 && e.owner != owner) return false;
  // Fields the first claim left empty are learnt; a set one must agree.
  auto merge = [](const std::string& recorded, const std::string& wanted) {
    return recorded.empty() || wanted.empty() || recorded == wanted;
  };
  const SessionIdentity& r = e.identity;
  if (!merge(r.backend, identity.backend) || !merge(r.agent, identity.agent) ||
      !merge(r.model, identity.model) || !merge(r.agent_profile, identity.agent_profile))
    return false;
  auto learn = [](std::string& recorded, const std::string& wanted) {
    if (recorded.empty()) recorded = wanted;
  };
  learn(e.identity.backend, identity.backend);
  learn(e.identity.agent, identity.agent);
  learn(e.identity.model, identity.model);
  learn(e.identity.agent_profile, identity.agent_profile);
  e.owner = owner;
  return true;
}

bool SessionIdentityMap::adopt(std::string_view provisional, std::string_view real, Owner owner) {
  if (owner == 0 || released_.contains(owner)) return false;
  const std::string_view from = resolve(provisional);
  auto it = entries_.find(from);
  if (it == entries_.end() || it->second.owner != owner) return false;
  if (from == resolve(real)) return true;  // already adopted
  const SessionIdentity identity = it->second.identity;
  if (!claim(real, identity, owner)) return false;
  // `from` may dangle once its entry is erased: copy it first.
  const std::string old(from);
  entries_.erase(old);
  aliases_[old] = std::string(real);
  return true;
}

void SessionIdentityMap::release(Owner owner) {
  if (owner == 0) return;
  released_.insert(owner);
  for (auto& [id, e] : entries_)
    if (e.owner == owner) e.owner = 0;
}

}  // namespace avenor::host
