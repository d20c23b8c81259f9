// The session identity map (cli.md §3.13): which (backend, agent, model,
// agent_profile) a session id belongs to, and which attempt holds it now.
// One per process, shared by retries, loop phases and follow-up turns; the
// `stable` supervisor keeps one for spawn's resume check (control.md §10.4).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace avenor::host {

struct SessionIdentity {
  std::string backend;
  std::string agent;
  std::string model;
  std::string agent_profile;

  bool operator==(const SessionIdentity&) const = default;
};

class SessionIdentityMap {
 public:
  // Who holds a mapping: an attempt of a run, a runtime of a supervisor.
  // Any unique non-zero number; 0 means nobody.
  using Owner = std::uint64_t;

  // The identity recorded for `id` (a provisional id resolves to the id it
  // was adopted as), or nothing for an unknown id.
  const SessionIdentity* find(std::string_view id) const;

  // Resume check, before any provider exists: the empty fields of `identity`
  // are filled from the mapping of `id`; an explicitly different one gives
  // `cannot resume session "<id>" with <field> "<v>": session belongs to
  // <field> "<w>"`. An unknown id passes unchanged.
  std::optional<std::string> fill_for_resume(std::string_view id, SessionIdentity& identity) const;

  // `owner` takes `id` for `identity` (a new session, or a resume after
  // fill_for_resume). False (session_id_conflict) when the id belongs to a
  // different identity or is held by another live owner, or when `owner`
  // was released already (a late callback of an earlier attempt).
  bool claim(std::string_view id, const SessionIdentity& identity, Owner owner);

  // The backend reported `real` as the session behind the provisional id
  // `provisional` that `owner` holds: `real` is claimed with the provisional
  // id's identity and the provisional id becomes an alias of it. False, with
  // nothing changed, on a conflict or when `owner` does not hold
  // `provisional`.
  bool adopt(std::string_view provisional, std::string_view real, Owner owner);

  // `owner` is done (its attempt ended): its mappings stay, free for a later
  // owner of the same identity, and it can claim nothing any more.
  void release(Owner owner);

 private:
  struct Entry {
    SessionIdentity identity;
    Owner owner = 0;
  };
  // Follows aliases to the id that has an entry.
  std::string_view resolve(std::string_view id) const;

  std::map<std::string, Entry, std::less<>> entries_;
  std::map<std::string, std::string, std::less<>> aliases_;  // provisional → adopted
  std::set<Owner> released_;
};

}  // namespace avenor::host
