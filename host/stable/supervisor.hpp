// The `stable` supervisor (control.md §10): keeps many runtimes, each its own
// `avenor run` process, mirrors their state from their event streams, routes
// runtime-scoped calls to them, parks and wakes them, and re-adopts the
// runtimes of a predecessor that died. Everything runs on one Asio loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "control/event_history.hpp"
#include "control/event_hub.hpp"
#include "control/status_snapshot.hpp"
#include "plugin_host/plugin_catalog.hpp"
#include "run/session_identity.hpp"
#include "stable/idempotency_store.hpp"
#include "stable/managed_opencode.hpp"
#include "stable/registry.hpp"
#include "stable/runtime.hpp"

namespace avenor::host {

struct StableOptions {
  std::filesystem::path control_socket;
  std::filesystem::path state_dir;
  std::string http_debug;
  std::string http_debug_token_file;  // (new) where to write the adapter's token, 0600
  int max_runtimes = 16;
  std::int64_t idempotency_capacity = 1024;
  std::chrono::nanoseconds idle_timeout{0};
  std::chrono::nanoseconds shutdown_timeout{std::chrono::seconds(10)};
  std::chrono::nanoseconds parked_timeout{std::chrono::minutes(30)};
  std::chrono::nanoseconds permission_claim_timeout{0};
};

class Supervisor {
 public:
  static constexpr std::chrono::seconds kQuestionTimeout{120};

  Supervisor(boost::asio::io_context& io, StableOptions options, std::string run_id,
             PluginCatalog catalog, std::ostream& err);
  ~Supervisor();

  const std::string& run_id() const { return run_id_; }
  // The token `identity` answers (AVENOR_CONTROL_IDENTITY_TOKEN at start).
  void set_identity_token(std::string token) { identity_token_ = std::move(token); }
  const std::string& identity_token() const { return identity_token_; }
  const StableOptions& options() const { return options_; }

  // Startup (§10.2 step 5): re-adopts or buries the runtimes of `registry`.
  boost::asio::awaitable<void> adopt(Registry registry, std::vector<std::string> salvaged_ids);

  // --- methods (§10.3); each throws RpcError ---
  boost::asio::awaitable<boost::json::object> spawn(boost::json::object params);
  boost::json::array list() const;
  boost::json::object status(const std::string& runtime_id) const;
  boost::json::object supervisor_status() const;
  boost::asio::awaitable<std::string> result(const std::string& runtime_id);
  boost::asio::awaitable<boost::json::object> wait_turn(const std::string& runtime_id,
                                                        std::int64_t timeout_ms);
  boost::asio::awaitable<void> cancel(const std::string& runtime_id);
  boost::asio::awaitable<void> prompt(const std::string& runtime_id, std::string text,
                                      const std::string& request_id);
  boost::asio::awaitable<void> interrupt_and_prompt(const std::string& runtime_id, std::string text,
                                                    bool keep_queue);
  boost::asio::awaitable<void> answer_permission(const std::string& runtime_id,
                                                 const std::string& request_id,
                                                 const std::string& option_id,
                                                 const std::optional<std::string>& message);
  boost::asio::awaitable<void> send_to_parent(const std::string& runtime_id, std::string message);
  EventHub& hub() { return hub_; }
  const EventHistory& event_history() const { return history_; }

  // The shutdown pass (§10.15); completes once runtimes are stopped and the
  // registry is gone. `reason`: signal | shutdown | idle.
  boost::asio::awaitable<void> shutdown(bool kill, std::string reason);
  bool shutting_down() const { return shutting_down_; }
  const std::string& shutdown_reason() const { return shutdown_reason_; }
  // Asked to run when the supervisor wants to shut itself down (idle timer).
  void on_idle(std::function<void()> handler) { on_idle_ = std::move(handler); }

  // Supervisor clients (socket connections) for permission claims (§10.10).
  void client_connected();
  void client_disconnected();

 private:
  Runtime& find(const std::string& runtime_id) const;
  Runtime& find_live(const std::string& runtime_id) const;
  std::size_t active_count() const;

  // spawn steps (supervisor_spawn.cpp)
  boost::asio::awaitable<boost::json::object> spawn_new(const boost::json::object& params);
  boost::asio::awaitable<void> acquire_slot();
  boost::asio::awaitable<void> link_runtime(Runtime& rt, std::int64_t replay_limit);

  // events and lifecycle (supervisor.cpp)
  void ingest(Runtime& rt, boost::json::object event);
  boost::asio::awaitable<void> refresh_backend_pid(std::string runtime_id);
  boost::asio::awaitable<void> fetch_full_output(std::string runtime_id);
  // Waits (bounded) until a fetch of the full final_output has come back.
  boost::asio::awaitable<void> settle_output(const std::string& runtime_id);
  void route_permission(Runtime& rt);
  void release_claim(Runtime& rt);
  void runtime_exited(Runtime& rt, std::optional<int> exit_code, std::string description);
  boost::asio::awaitable<void> finish_runtime(std::string runtime_id, std::optional<int> exit_code,
                                              std::string description);
  void record_dead_end(Runtime& rt, const std::string& description);
  // Schedules one rewrite of registry.json for everything changed in this
  // turn of the event loop (a spawn or a mass exit changes many entries).
  void registry_changed();
  void write_registry();
  void update_idle_timer();
  void forward_queued(Runtime& rt);
  boost::asio::awaitable<void> forward_loop(std::string runtime_id);
  boost::asio::awaitable<std::int64_t> publish_on(Runtime& rt, boost::json::object event);
  void question_timed_out(const std::string& child_id, const std::string& request_id);

  boost::asio::io_context& io_;
  StableOptions options_;
  std::string run_id_;
  std::string identity_token_;
  PluginCatalog catalog_;
  std::ostream& err_;
  std::map<std::string, std::unique_ptr<Runtime>, std::less<>> runtimes_;
  std::int64_t next_runtime_ = 1;
  std::int64_t next_question_ = 1;
  std::size_t reservations_ = 0;
  ChangeSignal slots_;
  IdempotencyStore idempotency_;
  ManagedOpencodeServers opencode_;
  // session id → (backend, agent, model, agent_profile), for spawn's resume check
  SessionIdentityMap sessions_;
  EventHub hub_;
  EventHistory history_;
  StatusSnapshot snapshot_;
  std::size_t clients_ = 0;
  bool shutting_down_ = false;
  std::string shutdown_reason_;
  boost::asio::steady_timer idle_timer_;
  bool idle_armed_ = false;
  bool shutdown_done_ = false;
  bool registry_write_posted_ = false;
  std::function<void()> on_idle_;
};

}  // namespace avenor::host
