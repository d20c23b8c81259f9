// Idempotent spawn (control.md §10.9): completed results kept for a TTL,
// concurrent duplicates of an in-flight key wait for the first caller's
// outcome. In memory only; single-threaded (the supervisor's event loop).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "control/rpc_error.hpp"

namespace avenor::host {

struct SpawnOutcome {
  boost::json::value result;
  std::optional<RpcError> error;
};

class IdempotencyStore {
 public:
  IdempotencyStore(boost::asio::any_io_executor ex, std::size_t capacity,
                   std::chrono::seconds ttl = std::chrono::hours(24));
  // Waiters still blocked on an in-flight key get -32000 "idempotent spawn
  // abandoned".
  ~IdempotencyStore();
  IdempotencyStore(const IdempotencyStore&) = delete;
  IdempotencyStore& operator=(const IdempotencyStore&) = delete;

  // SHA-256 hex of the canonical serialization (keys sorted recursively,
  // compact) of the spawn params with on_event, sentinel_file,
  // idempotency_key, parent_id, session_id, agent_profile removed, and label
  // removed when label_derived is true.
  static std::string params_hash(const boost::json::object& spawn_params);

  // nullopt: the caller now owns `key` and must call complete() or fail().
  // Otherwise the outcome to return: a stored result, or, for an in-flight
  // key with the same hash, the first caller's outcome, awaited. Throws
  // RpcError(-32602, "idempotency key reused with different parameters") on
  // a hash mismatch (stored or in flight), RpcError(-32030, "idempotency
  // capacity exhausted") when completed + in-flight keys (expired entries
  // pruned first) reach capacity.
  boost::asio::awaitable<std::optional<SpawnOutcome>> begin(const std::string& key,
                                                            const std::string& hash);
  // Stores the result for ttl and wakes the waiters. Unknown keys are ignored.
  void complete(const std::string& key, boost::json::value result);
  // Not stored; the waiters get the error; a retry runs again.
  void fail(const std::string& key, RpcError error);

  // Completed (unexpired) plus in-flight keys.
  std::size_t size();

 private:
  struct InFlight;
  struct Stored {
    std::string hash;
    boost::json::value result;
    std::chrono::steady_clock::time_point expires;
  };

  void prune();
  void finish(const std::string& key, SpawnOutcome outcome, bool store);

  boost::asio::any_io_executor ex_;
  std::size_t capacity_;
  std::chrono::seconds ttl_;
  std::map<std::string, Stored> stored_;
  std::map<std::string, std::shared_ptr<InFlight>> in_flight_;
};

}  // namespace avenor::host
