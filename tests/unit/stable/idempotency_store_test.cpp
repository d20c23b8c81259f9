#include "stable/idempotency_store.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <functional>
#include <vector>

#include "../host/test_support.hpp"
#include "util/sha256.hpp"

namespace avenor::host {
namespace {

namespace asio = boost::asio;
using boost::json::object;
using boost::json::value;
using test::run_until;

// What one begin() call ended with.
struct Seen {
  bool done = false;
  bool owner = false;
  std::optional<SpawnOutcome> outcome;
  std::optional<RpcError> thrown;
};

class IdempotencyStoreTest : public ::testing::Test {
 protected:
  // Starts begin(key, hash) on the loop and runs it as far as it goes.
  std::shared_ptr<Seen> begin(IdempotencyStore& store, std::string key, std::string hash) {
    auto seen = std::make_shared<Seen>();
    asio::co_spawn(
        io,
        [&store, key, hash, seen]() -> asio::awaitable<void> {
          try {
            auto outcome = co_await store.begin(key, hash);
            seen->owner = !outcome.has_value();
            seen->outcome = std::move(outcome);
          } catch (const RpcError& e) {
            seen->thrown = e;
          }
          seen->done = true;
        },
        asio::detached);
    io.restart();
    io.poll();
    return seen;
  }

  asio::io_context io;
};

TEST_F(IdempotencyStoreTest, ConcurrentDuplicatesGetTheFirstResult) {
  IdempotencyStore store(io.get_executor(), 1024);
  std::vector<std::shared_ptr<Seen>> calls;
  for (int i = 0; i < 16; ++i) calls.push_back(begin(store, "key", "h1"));
  int owners = 0;
  for (const auto& c : calls) {
    if (c->done) {
      EXPECT_TRUE(c->owner);
      ++owners;
    }
  }
  ASSERT_EQ(owners, 1) << "exactly one caller must own the key";
  EXPECT_TRUE(calls[0]->owner);
  EXPECT_EQ(store.size(), 1u);

  store.complete("key", object{{"runtime_id", "rt_1"}});
  ASSERT_TRUE(run_until(io, [&] {
    return std::all_of(calls.begin(), calls.end(), [](const auto& c) { return c->done; });
  })) << "waiters were not woken by complete()";
  for (std::size_t i = 1; i < calls.size(); ++i) {
    ASSERT_TRUE(calls[i]->outcome) << i;
    EXPECT_FALSE(calls[i]->outcome->error);
    EXPECT_EQ(calls[i]->outcome->result, (value(object{{"runtime_id", "rt_1"}})));
  }

  // Later duplicates get the stored result at once.
  auto later = begin(store, "key", "h1");
  ASSERT_TRUE(later->done);
  ASSERT_TRUE(later->outcome);
  EXPECT_EQ(later->outcome->result.at("runtime_id"), "rt_1");
  EXPECT_EQ(store.size(), 1u);
}

TEST_F(IdempotencyStoreTest, FailurePropagatesAndIsNotStored) {
  IdempotencyStore store(io.get_executor(), 1024);
  auto owner = begin(store, "key", "h1");
  ASSERT_TRUE(owner->owner);
  std::vector<std::shared_ptr<Seen>> waiters;
  for (int i = 0; i < 3; ++i) waiters.push_back(begin(store, "key", "h1"));
  for (const auto& w : waiters) EXPECT_FALSE(w->done);

  store.fail("key", RpcError(rpc_code::handler_error, "unknown backend \"x\""));
  ASSERT_TRUE(run_until(io, [&] {
    return std::all_of(waiters.begin(), waiters.end(), [](const auto& c) { return c->done; });
  }));
  for (const auto& w : waiters) {
    ASSERT_TRUE(w->outcome);
    ASSERT_TRUE(w->outcome->error);
    EXPECT_EQ(w->outcome->error->code(), rpc_code::handler_error);
    EXPECT_STREQ(w->outcome->error->what(), "unknown backend \"x\"");
  }
  EXPECT_EQ(store.size(), 0u);
  auto retry = begin(store, "key", "h1");
  EXPECT_TRUE(retry->owner) << "a failed spawn must run again on retry";
}

TEST_F(IdempotencyStoreTest, DifferentParametersConflict) {
  IdempotencyStore store(io.get_executor(), 1024);
  ASSERT_TRUE(begin(store, "key", "h1")->owner);
  auto in_flight = begin(store, "key", "h2");
  ASSERT_TRUE(in_flight->thrown);
  EXPECT_EQ(in_flight->thrown->code(), rpc_code::invalid_params);
  EXPECT_STREQ(in_flight->thrown->what(), "idempotency key reused with different parameters");

  store.complete("key", object{{"runtime_id", "rt_1"}});
  auto stored = begin(store, "key", "h2");
  ASSERT_TRUE(stored->thrown);
  EXPECT_EQ(stored->thrown->code(), rpc_code::invalid_params);
}

TEST_F(IdempotencyStoreTest, CapacityCountsCompletedAndInFlight) {
  IdempotencyStore store(io.get_executor(), 2);
  ASSERT_TRUE(begin(store, "a", "h")->owner);
  ASSERT_TRUE(begin(store, "b", "h")->owner);
  auto full = begin(store, "c", "h");
  ASSERT_TRUE(full->thrown);
  EXPECT_EQ(full->thrown->code(), rpc_code::idempotency_capacity);
  EXPECT_STREQ(full->thrown->what(), "idempotency capacity exhausted");

  store.complete("a", value("ra"));
  EXPECT_TRUE(begin(store, "c", "h")->thrown) << "a completed key still counts";
  // Existing keys are still answered when full.
  EXPECT_TRUE(begin(store, "a", "h")->outcome);

  store.fail("b", RpcError(rpc_code::handler_error, "x"));
  EXPECT_TRUE(begin(store, "c", "h")->owner) << "a failed key frees its slot";
}

TEST_F(IdempotencyStoreTest, ExpiredEntriesArePrunedAndRunAgain) {
  IdempotencyStore store(io.get_executor(), 1, std::chrono::seconds(0));
  ASSERT_TRUE(begin(store, "a", "h")->owner);
  store.complete("a", value("ra"));
  // A zero ttl has expired by the next lookup: the key runs again, and its
  // slot is free for another key.
  EXPECT_EQ(store.size(), 0u);
  EXPECT_TRUE(begin(store, "b", "h")->owner);
  store.complete("b", value("rb"));
  EXPECT_TRUE(begin(store, "a", "other-hash")->owner) << "an expired entry cannot conflict";
}

TEST_F(IdempotencyStoreTest, StoredEntriesOutliveANonZeroTtlCheck) {
  IdempotencyStore store(io.get_executor(), 4, std::chrono::hours(24));
  ASSERT_TRUE(begin(store, "a", "h")->owner);
  store.complete("a", value("ra"));
  auto again = begin(store, "a", "h");
  ASSERT_TRUE(again->outcome);
  EXPECT_EQ(again->outcome->result, value("ra"));
}

TEST_F(IdempotencyStoreTest, DestroyingTheStoreReleasesWaiters) {
  std::shared_ptr<Seen> waiter;
  {
    IdempotencyStore store(io.get_executor(), 4);
    ASSERT_TRUE(begin(store, "a", "h")->owner);
    waiter = begin(store, "a", "h");
    EXPECT_FALSE(waiter->done);
  }
  ASSERT_TRUE(run_until(io, [&] { return waiter->done; }));
  ASSERT_TRUE(waiter->thrown);
  EXPECT_EQ(waiter->thrown->code(), rpc_code::handler_error);
}

TEST(IdempotencyParamsHash, CanonicalSerialization) {
  object params{{"prompt", "hi"}, {"b", object{{"z", 1}, {"a", true}}}, {"dir", "."}};
  EXPECT_EQ(IdempotencyStore::params_hash(params),
            sha256_hex(R"({"b":{"a":true,"z":1},"dir":".","prompt":"hi"})"));
}

TEST(IdempotencyParamsHash, IgnoresPerAttemptFields) {
  const object base{{"prompt", "do it"}, {"agent", "build"}, {"label", "x"}};
  const std::string h = IdempotencyStore::params_hash(base);
  object with = base;
  with["on_event"] = "/a";
  with["sentinel_file"] = "/b";
  with["idempotency_key"] = "k";
  with["parent_id"] = "rt_1";
  with["session_id"] = "s";
  with["agent_profile"] = "p";
  EXPECT_EQ(IdempotencyStore::params_hash(with), h);

  object relabeled = base;
  relabeled["label"] = "y";
  EXPECT_NE(IdempotencyStore::params_hash(relabeled), h) << "label counts unless derived";

  object derived1 = base, derived2 = base;
  derived1["label_derived"] = true;
  derived2["label_derived"] = true;
  derived2["label"] = "attempt-2";
  EXPECT_EQ(IdempotencyStore::params_hash(derived1), IdempotencyStore::params_hash(derived2));

  object other = base;
  other["prompt"] = "do something else";
  EXPECT_NE(IdempotencyStore::params_hash(other), h);
}

}  // namespace
}  // namespace avenor::host
