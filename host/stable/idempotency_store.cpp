#include "stable/idempotency_store.hpp"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>
#include <vector>

#include "util/json_text.hpp"
#include "util/sha256.hpp"

namespace avenor::host {

namespace asio = boost::asio;
using boost::json::object;
using boost::json::value;

namespace {

// Compact JSON with every object's keys in byte order, so two spellings of
// the same parameters hash alike.
void append_canonical(std::string& out, const value& v) {
  if (v.is_object()) {
    const object& o = v.as_object();
    std::vector<const object::value_type*> members;
    members.reserve(o.size());
    for (const auto& m : o) members.push_back(&m);
    std::sort(members.begin(), members.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });
    out.push_back('{');
    bool first = true;
    for (const auto* m : members) {
      if (!first) out.push_back(',');
      first = false;
      out += to_compact_json(value(m->key()));
      out.push_back(':');
      append_canonical(out, m->value());
    }
    out.push_back('}');
  } else if (v.is_array()) {
    out.push_back('[');
    bool first = true;
    for (const value& e : v.as_array()) {
      if (!first) out.push_back(',');
      first = false;
      append_canonical(out, e);
    }
    out.push_back(']');
  } else {
    out += to_compact_json(v);
  }
}

RpcError conflict() {
  return {rpc_code::invalid_params, "idempotency key reused with different parameters"};
}

}  // namespace

// A key whose first spawn is still running. Duplicates wait on `done` (a
// timer that never expires; finishing cancels it, waking every waiter).
struct IdempotencyStore::InFlight {
  InFlight(std::string h, const asio::any_io_executor& ex) : hash(std::move(h)), done(ex) {
    done.expires_at(asio::steady_timer::time_point::max());
  }
  std::string hash;
  asio::steady_timer done;
  std::optional<SpawnOutcome> outcome;
};

IdempotencyStore::IdempotencyStore(asio::any_io_executor ex, std::size_t capacity,
                                   std::chrono::seconds ttl)
    : ex_(std::move(ex)), capacity_(capacity), ttl_(ttl) {}

IdempotencyStore::~IdempotencyStore() {
  for (auto& [key, flight] : in_flight_) flight->done.cancel();
}

std::string IdempotencyStore::params_hash(const object& spawn_params) {
  object params = spawn_params;
  for (const char* ignored :
       {"on_event", "sentinel_file", "idempotency_key", "parent_id", "session_id", "agent_profile"})
    params.erase(ignored);
  if (const value* derived = params.if_contains("label_derived");
      derived != nullptr && derived->is_bool() && derived->as_bool())
    params.erase("label");
  std::string canonical;
  append_canonical(canonical, params);
  return sha256_hex(canonical);
}

void IdempotencyStore::prune() {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(stored_, [now](const auto& entry) { return entry.second.expires <= now; });
}

std::size_t IdempotencyStore::size() {
  prune();
  return stored_.size() + in_flight_.size();
}

asio::awaitable<std::optional<SpawnOutcome>> IdempotencyStore::begin(const std::string& key,
                                                                     const std::string& hash) {
  prune();
  if (auto it = stored_.find(key); it != stored_.end()) {
    if (it->second.hash != hash) throw conflict();
    co_return SpawnOutcome{it->second.result, std::nullopt};
  }
  if (auto it = in_flight_.find(key); it != in_flight_.end()) {
    if (it->second->hash != hash) throw conflict();
    std::shared_ptr<InFlight> flight = it->second;
    boost::system::error_code ec;
    co_await flight->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!flight->outcome)  // the store went away, or this waiter was cancelled
      throw RpcError(rpc_code::handler_error, "idempotent spawn abandoned");
    co_return *flight->outcome;
  }
  if (stored_.size() + in_flight_.size() >= capacity_)
    throw RpcError(rpc_code::idempotency_capacity, "idempotency capacity exhausted");
  in_flight_.emplace(key, std::make_shared<InFlight>(hash, ex_));
  co_return std::nullopt;
}

void IdempotencyStore::finish(const std::string& key, SpawnOutcome outcome, bool store) {
  auto it = in_flight_.find(key);
  if (it == in_flight_.end()) return;
  std::shared_ptr<InFlight> flight = std::move(it->second);
  in_flight_.erase(it);
  if (store)
    stored_[key] = Stored{flight->hash, outcome.result, std::chrono::steady_clock::now() + ttl_};
  flight->outcome = std::move(outcome);
  flight->done.cancel();
}

void IdempotencyStore::complete(const std::string& key, value result) {
  finish(key, SpawnOutcome{std::move(result), std::nullopt}, true);
}

void IdempotencyStore::fail(const std::string& key, RpcError error) {
  finish(key, SpawnOutcome{value(), std::move(error)}, false);
}

}  // namespace avenor::host
