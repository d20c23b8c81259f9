#include "stable/supervisor.hpp"

#include <avenor/sdk/json.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <csignal>

#include "control/rpc_error.hpp"
#include "stable/dead_runtime.hpp"
#include "stable/supervisor_errors.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace json = sdk::json;
using boost::json::array;
using boost::json::object;
using boost::json::value;

namespace {

asio::awaitable<void> call_quietly(std::shared_ptr<RpcLink> link, std::string method,
                                   object params) {
  co_await link->call(std::move(method), std::move(params));
}

}  // namespace

Supervisor::Supervisor(asio::io_context& io, StableOptions options, std::string run_id,
                       PluginCatalog catalog, std::ostream& err)
    : io_(io),
      options_(std::move(options)),
      run_id_(std::move(run_id)),
      catalog_(std::move(catalog)),
      err_(err),
      idempotency_(io.get_executor(), static_cast<std::size_t>(std::max<std::int64_t>(
                                          1, options_.idempotency_capacity))),
      opencode_(io),
      hub_(io.get_executor()),
      snapshot_(run_id_, ""),
      idle_timer_(io) {}

Supervisor::~Supervisor() {
  // Links and watches go first; runtime processes keep running unless the
  // shutdown pass ended them (a successor may re-adopt them).
  for (auto& [id, rt] : runtimes_) {
    if (rt->link) {
      rt->link->on_event({});
      rt->link->on_closed({});
      rt->link->close();
    }
    if (rt->process) rt->process->on_exit({});
  }
}

Runtime& Supervisor::find(const std::string& runtime_id) const {
  auto it = runtimes_.find(runtime_id);
  if (it == runtimes_.end()) throw handler_error("runtime " + in_quotes(runtime_id) + " not found");
  return *it->second;
}

Runtime& Supervisor::find_live(const std::string& runtime_id) const {
  Runtime& rt = find(runtime_id);
  if (rt.ended()) throw handler_error("runtime " + in_quotes(runtime_id) + " has ended");
  return rt;
}

std::size_t Supervisor::active_count() const {
  std::size_t n = reservations_;
  for (const auto& [id, rt] : runtimes_)
    if (rt->active()) ++n;
  return n;
}

array Supervisor::list() const {
  array out;
  out.reserve(runtimes_.size());
  for (const auto& [id, rt] : runtimes_) out.push_back(rt->entry(run_id_));
  return out;
}

object Supervisor::status(const std::string& runtime_id) const {
  return find(runtime_id).entry(run_id_);
}

object Supervisor::supervisor_status() const { return snapshot_.to_json(); }

asio::awaitable<std::string> Supervisor::result(const std::string& runtime_id) {
  find(runtime_id);
  co_await settle_output(runtime_id);
  co_return find(runtime_id).final_output;
}

asio::awaitable<void> Supervisor::settle_output(const std::string& runtime_id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto it = runtimes_.find(runtime_id);
    if (it == runtimes_.end() || !it->second->output_pending) co_return;
    const bool notified = co_await it->second->changed.wait_until(deadline);
    if (!notified) co_return;
  }
}

asio::awaitable<void> Supervisor::fetch_full_output(std::string runtime_id) {
  // Control surfaces carry final_output cut to 4096 runes; `result` has it whole.
  auto it = runtimes_.find(runtime_id);
  if (it == runtimes_.end()) co_return;
  auto link = it->second->link;
  value r;
  try {
    if (link) r = co_await link->call("result", {}, std::chrono::seconds(10));
  } catch (const std::exception&) {
  }
  it = runtimes_.find(runtime_id);
  if (it == runtimes_.end()) co_return;
  if (const auto* o = r.if_object())
    if (auto text = json::find_string(*o, "final_output"); text && !text->empty())
      it->second->final_output = *text;
  it->second->output_pending = false;
  it->second->changed.notify();
}

// --- events ---

void Supervisor::ingest(Runtime& rt, object event) {
  const std::string type = json::string_or(event, "event");
  if (type == "subscriber.lagged" || type.empty()) return;  // per-link bookkeeping, not an event
  const std::int64_t seq = event_seq(event);
  if (seq != 0 && seq <= rt.latest_seq) return;  // already seen (replay overlap)
  event["runtime_id"] = rt.spec.runtime_id;      // re-stamped (§10.1)
  const std::string session_before = rt.session_id;
  const bool parked = rt.observe(event);
  snapshot_.observe(event);
  auto shared = std::make_shared<const object>(std::move(event));
  history_.record(shared);
  hub_.publish(shared);

  if (rt.session_id != session_before && !rt.session_id.empty()) {
    // Two live runtimes may resume one session; the map only answers the
    // resume check, so a refused claim changes nothing here.
    sessions_.claim(rt.session_id, rt.identity(), rt.owner());
    registry_changed();
  }
  if (type == "permission.request") route_permission(rt);
  if (type == "session.end" && rt.link && json::bool_or(*shared, "final_output_truncated")) {
    rt.output_pending = true;
    asio::co_spawn(io_, fetch_full_output(rt.spec.runtime_id), asio::detached);
  }
  // A new backend process comes with a new attempt; spawn reads the first one
  // once the session exists. Not per event: a backend without a process
  // (opencode-http) keeps pid 0 for good.
  if ((type == "avenor.retry" || type == "session.start" || type == "avenor.parked") && rt.link &&
      !rt.ended() && !rt.pid_refreshing)
    asio::co_spawn(io_, refresh_backend_pid(rt.spec.runtime_id), [](std::exception_ptr) {});
  if (parked) {
    slots_.notify();
    registry_changed();
    update_idle_timer();
    if (!rt.queued_prompts.empty() || rt.interrupt_text) forward_queued(rt);
  }
  rt.changed.notify();
}

void Supervisor::route_permission(Runtime& rt) {
  if (!rt.permission || json::string_or(*rt.permission, "resolver") != "reserved") return;
  if (clients_ == 0) {
    release_claim(rt);
    return;
  }
  rt.claim_held = true;
  if (options_.permission_claim_timeout.count() <= 0) return;  // D3: until answered or all gone
  const std::string request_id = json::string_or(*rt.permission, "request_id");
  auto timer = std::make_shared<asio::steady_timer>(io_, options_.permission_claim_timeout);
  timer->async_wait([this, timer, id = rt.spec.runtime_id,
                     request_id](boost::system::error_code ec) {
    if (ec) return;
    auto it = runtimes_.find(id);
    if (it == runtimes_.end()) return;
    Runtime& r = *it->second;
    if (r.claim_held && r.permission && json::string_or(*r.permission, "request_id") == request_id)
      release_claim(r);
  });
}

void Supervisor::release_claim(Runtime& rt) {
  rt.claim_held = false;
  if (!rt.permission || !rt.link || rt.ended()) return;
  const std::string request_id = json::string_or(*rt.permission, "request_id");
  // A gone runtime has nothing left to release: errors are dropped.
  asio::co_spawn(io_, call_quietly(rt.link, "release_claim", object{{"request_id", request_id}}),
                 [](std::exception_ptr) {});
}

void Supervisor::client_connected() { ++clients_; }

void Supervisor::client_disconnected() {
  if (clients_ > 0) --clients_;
  if (clients_ > 0) return;
  // Every claim held for clients falls through (D3, control.md §3).
  for (auto& [id, rt] : runtimes_)
    if (rt->claim_held) release_claim(*rt);
}

asio::awaitable<void> Supervisor::refresh_backend_pid(std::string runtime_id) {
  // The backend process id lives in the runtime's snapshot only.
  auto it = runtimes_.find(runtime_id);
  if (it == runtimes_.end() || !it->second->link) co_return;
  auto link = it->second->link;
  it->second->pid_refreshing = true;
  value s;
  try {
    s = co_await link->call("status", {}, std::chrono::seconds(5));
  } catch (const std::exception&) {
  }
  it = runtimes_.find(runtime_id);
  if (it == runtimes_.end()) co_return;
  it->second->pid_refreshing = false;
  if (const auto* o = s.if_object())
    if (auto pid = json::find_int(*o, "pid")) it->second->backend_pid = *pid;
}

// --- lifecycle ---

void Supervisor::runtime_exited(Runtime& rt, std::optional<int> exit_code,
                                std::string description) {
  asio::co_spawn(io_, finish_runtime(rt.spec.runtime_id, exit_code, std::move(description)),
                 asio::detached);
}

asio::awaitable<void> Supervisor::finish_runtime(std::string runtime_id,
                                                 std::optional<int> exit_code,
                                                 std::string description) {
  auto it = runtimes_.find(runtime_id);
  if (it == runtimes_.end()) co_return;
  Runtime* rt = it->second.get();
  // Whatever the runtime published before it exited is still on its way
  // through the link: let it arrive (the link closes once drained).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (rt->link && !rt->link->closed()) {
    const bool notified = co_await rt->changed.wait_until(deadline);
    if (!notified) break;
    it = runtimes_.find(runtime_id);
    if (it == runtimes_.end()) co_return;
    rt = it->second.get();
  }
  if (rt->end_recorded) co_return;
  rt->end_recorded = true;
  if (rt->link) {
    rt->link->on_event({});
    rt->link->on_closed({});
    rt->link->close();
    rt->link.reset();
  }
  rt->linked = false;
  const LogTail tail = read_log_tail(rt->spec.on_event);
  const bool ended_cleanly = tail.last_event == "session.end" ||
                             tail.last_event == "avenor.parked" ||
                             tail.last_event == "avenor.loop.end" ||
                             (tail.last_event.empty() && (rt->last_event == "session.end" ||
                                                          rt->last_event == "avenor.parked" ||
                                                          rt->last_event == "avenor.loop.end"));
  if (!ended_cleanly) {
    // A runtime killed from outside leaves its backend (a process group of
    // its own) behind without anybody to close it.
    if (rt->backend_pid > 0) ::kill(-static_cast<pid_t>(rt->backend_pid), SIGKILL);
    rt->latest_seq = std::max(rt->latest_seq, tail.last_seq);
    record_dead_end(*rt, "runtime process exited unexpectedly: " + description);
    rt->exit_code = 1;
  } else {
    rt->exit_code = exit_code.value_or(sentinel_exit_code(rt->spec.sentinel_file));
  }
  rt->status = "ended";
  sessions_.release(rt->owner());
  rt->permission.reset();
  rt->queued_prompts.clear();
  rt->interrupt_text.reset();
  if (rt->question_timer) rt->question_timer->cancel();
  ++rt->settled;
  rt->changed.notify();
  slots_.notify();
  registry_changed();
  update_idle_timer();
}

void Supervisor::record_dead_end(Runtime& rt, const std::string& message) {
  object error{{"event", "avenor.error"}, {"source", "error"}, {"message", message}};
  object end{{"event", "session.end"}, {"stop_reason", "error"}};
  if (!rt.session_id.empty()) {
    error["session_id"] = rt.session_id;
    end["session_id"] = rt.session_id;
  }
  for (object* e : {&error, &end}) {
    object stamped = append_dead_runtime_event(rt.spec.on_event, *e, rt.latest_seq + 1, run_id_,
                                               rt.spec.label, rt.spec.runtime_id, err_);
    rt.observe(stamped);
    snapshot_.observe(stamped);
    auto shared = std::make_shared<const object>(std::move(stamped));
    history_.record(shared);
    hub_.publish(shared);
  }
  write_failed_sentinel(rt.spec.sentinel_file, rt.session_id, run_id_, err_);
}

void Supervisor::registry_changed() {
  if (registry_write_posted_ || shutdown_done_) return;
  registry_write_posted_ = true;
  asio::post(io_, [this] { write_registry(); });
}

void Supervisor::write_registry() {
  registry_write_posted_ = false;
  if (shutdown_done_) return;  // the registry was removed for good
  Registry reg;
  reg.supervisor_run_id = run_id_;
  reg.next_runtime = next_runtime_;
  for (const auto& [id, rt] : runtimes_) reg.runtimes.push_back(rt->registry_entry());
  try {
    save_registry(options_.state_dir / "registry.json", reg);
  } catch (const std::exception& e) {
    err_ << "avenor stable: save registry: " << e.what() << "\n";
  }
}

void Supervisor::update_idle_timer() {
  if (options_.idle_timeout.count() <= 0 || shutting_down_) return;
  if (active_count() > 0) {
    if (idle_armed_) idle_timer_.cancel();
    idle_armed_ = false;
    return;
  }
  if (idle_armed_) return;
  idle_armed_ = true;
  idle_timer_.expires_after(options_.idle_timeout);
  idle_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // cancelled: a runtime became active (a new arm may follow)
    idle_armed_ = false;
    if (shutting_down_ || active_count() > 0) return;
    if (on_idle_) on_idle_();
  });
}

}  // namespace avenor::host
