// Re-adoption at startup (control.md §10.16) and the shutdown pass (§10.15).
#include <avenor/sdk/json.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <csignal>
#include <filesystem>

#include "stable/dead_runtime.hpp"
#include "stable/supervisor.hpp"
#include "util/duration.hpp"
#include "util/replaceable_path.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace json = sdk::json;
namespace fs = std::filesystem;
using boost::json::object;
using boost::json::value;

namespace {

RuntimeSpec spec_of(const RegistryRuntime& r) {
  RuntimeSpec s;
  s.runtime_id = r.runtime_id;
  s.label = r.label;
  s.dir = r.dir.empty() ? "." : r.dir;
  s.agent = r.agent;
  s.agent_profile = r.agent_profile;
  s.model = r.model;
  s.thinking = r.thinking;
  s.backend = r.backend;
  s.effective_agent = r.agent;
  s.effective_model = r.model;
  s.effective_backend = r.backend.empty() ? "opencode-acp" : r.backend;
  s.on_event = r.on_event;
  s.sentinel_file = r.sentinel_file;
  s.control_socket = r.control_socket;
  s.identity_token = r.identity_token;
  s.parent_id = r.parent_id;
  s.auto_approve = r.auto_approve;
  s.started_at = r.started_at;
  return s;
}

}  // namespace

asio::awaitable<void> Supervisor::adopt(Registry registry, std::vector<std::string> salvaged) {
  next_runtime_ = std::max<std::int64_t>(next_runtime_, registry.next_runtime);
  for (const auto& id : salvaged) next_runtime_ = std::max(next_runtime_, runtime_number(id) + 1);
  for (const auto& r : registry.runtimes)
    next_runtime_ = std::max(next_runtime_, runtime_number(r.runtime_id) + 1);

  // A corrupt registry loses the entries, not the runtimes' files: each
  // runtime directory found is listed as ended.
  for (const auto& id : salvaged) {
    if (runtimes_.contains(id)) continue;
    RegistryRuntime r;
    r.runtime_id = id;
    const fs::path dir = options_.state_dir / id;
    r.on_event = (dir / "events.ndjson").string();
    r.sentinel_file = (dir / "sentinel.env").string();
    r.control_socket = (dir / "control.sock").string();
    r.status = "ended";
    registry.runtimes.push_back(r);
  }

  for (const auto& entry : registry.runtimes) {
    if (entry.runtime_id.empty() || runtimes_.contains(entry.runtime_id)) continue;
    const std::string id = entry.runtime_id;
    auto owned = std::make_unique<Runtime>(spec_of(entry));
    Runtime& rt = *owned;
    rt.children = entry.children;
    rt.session_id = entry.session_id;
    rt.exit_code = entry.exit_code;
    rt.status = entry.status == "ended" ? "ended" : "running";
    runtimes_.emplace(id, std::move(owned));
    if (!entry.session_id.empty()) sessions_.claim(entry.session_id, rt.identity(), rt.owner());
    if (rt.ended()) {
      sessions_.release(rt.owner());
      rt.end_recorded = true;
      const LogTail tail = read_log_tail(rt.spec.on_event);
      rt.latest_seq = tail.last_seq;
      if (entry.status != "ended") rt.exit_code = sentinel_exit_code(rt.spec.sentinel_file);
      continue;
    }

    rt.process =
        DetachedProcess::adopt(io_, static_cast<pid_t>(entry.pid), static_cast<pid_t>(entry.pgid));
    bool linked = false;
    if (rt.process) {
      try {
        co_await link_runtime(rt, 256);
        linked = true;
      } catch (const std::exception& e) {
        err_ << "avenor stable: re-adopt " << id << ": " << e.what() << "\n";
      }
    }
    auto it = runtimes_.find(id);
    if (it == runtimes_.end()) continue;
    Runtime& live = *it->second;
    if (!linked) {
      // Gone, or a process that is not ours any more: never signalled.
      live.process.reset();
      asio::co_spawn(io_, finish_runtime(id, std::nullopt, "process not found"), asio::detached);
      continue;
    }
    try {
      value s = co_await live.link->call("status", {}, std::chrono::seconds(10));
      if (const auto* o = s.if_object()) {
        // The replay may end on an old avenor.parked: the snapshot knows better.
        live.status = json::bool_or(*o, "parked") ? "idle" : "running";
        if (auto sid = json::string_or(*o, "session_id"); !sid.empty()) live.session_id = sid;
        if (auto pid = json::find_int(*o, "pid")) live.backend_pid = *pid;
      }
    } catch (const std::exception&) {
    }
    live.process->on_exit([this, id](std::optional<int> code, std::string why) {
      auto r = runtimes_.find(id);
      if (r != runtimes_.end()) runtime_exited(*r->second, code, std::move(why));
    });
  }
  registry_changed();
  update_idle_timer();
}

asio::awaitable<void> Supervisor::shutdown(bool kill, std::string reason) {
  if (shutting_down_) {
    // A second caller waits for the pass already under way.
    while (!shutdown_done_) co_await slots_.wait_for(std::chrono::milliseconds(200));
    co_return;
  }
  shutting_down_ = true;
  shutdown_reason_ = std::move(reason);
  idle_timer_.cancel();
  slots_.notify();
  co_await opencode_.stop_all();

  auto live = [this] {
    std::vector<std::string> ids;
    for (const auto& [id, rt] : runtimes_)
      if (!rt->ended() && !rt->end_recorded) ids.push_back(id);
    return ids;
  };
  auto kill_all = [this](const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      auto it = runtimes_.find(id);
      if (it == runtimes_.end()) continue;
      if (it->second->process) it->second->process->signal_group(SIGKILL);
      // The runtime's backend leads a process group of its own.
      if (it->second->backend_pid > 0)
        ::kill(-static_cast<pid_t>(it->second->backend_pid), SIGKILL);
    }
  };
  auto wait_all = [&](std::chrono::steady_clock::time_point deadline) -> asio::awaitable<bool> {
    while (!live().empty()) {
      const bool notified = co_await slots_.wait_until(deadline);
      if (!notified && std::chrono::steady_clock::now() >= deadline) co_return live().empty();
    }
    co_return true;
  };

  if (kill) {
    kill_all(live());
  } else {
    for (const auto& id : live()) asio::co_spawn(io_, cancel(id), [](std::exception_ptr) {});
    const auto limit = options_.shutdown_timeout;
    const auto deadline =
        limit.count() > 0
            ? std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(limit)
            : std::chrono::steady_clock::time_point::max();
    const bool all_done = co_await wait_all(deadline);
    if (!all_done) {
      const auto left = live();
      err_ << "avenor stable: " << left.size() << " runtimes did not finish within "
           << format_go_duration(limit) << "\n";
      kill_all(left);
    }
  }
  // Killed runtimes are recorded as dead ones (§10.12) once their exit is seen.
  co_await wait_all(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  // Only the regular file we wrote; whatever else sits there stays.
  (void)remove_regular_file(options_.state_dir / "registry.json");
  shutdown_done_ = true;
  slots_.notify();
}

}  // namespace avenor::host
