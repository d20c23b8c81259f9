// spawn (control.md §10.4, §10.8, §10.9) and the link to a runtime (§10.1).
#include <avenor/sdk/json.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdlib>
#include <fstream>

#include "control/rpc_error.hpp"
#include "run/model_lookup.hpp"
#include "run/thinking.hpp"
#include "stable/spawn_request.hpp"
#include "stable/state_files.hpp"
#include "stable/supervisor.hpp"
#include "stable/supervisor_errors.hpp"
#include "util/atomic_file.hpp"
#include "util/duration.hpp"
#include "util/random_hex.hpp"
#include "util/self_executable.hpp"
#include "util/unix_time.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace json = sdk::json;
namespace fs = std::filesystem;
using boost::json::object;
using boost::json::value;

namespace {

constexpr auto kReadyLimit = std::chrono::seconds(10);
constexpr auto kSessionLimit = std::chrono::seconds(90);
// Prompts longer than this go to a file: one exec argument is limited to 128 KiB.
constexpr std::size_t kInlinePromptBytes = 64 * 1024;

// The last non-empty line of a runtime's stderr log.
std::string last_stderr_line(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) last = line;
  }
  return last;
}

// Reservation of one admission slot until the runtime counts itself.
class Reservation {
 public:
  explicit Reservation(std::size_t& count) : count_(&count) { ++*count_; }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation() { release(); }
  void release() {
    if (count_) --*count_;
    count_ = nullptr;
  }

 private:
  std::size_t* count_;
};

}  // namespace

asio::awaitable<object> Supervisor::spawn(object params) {
  if (shutting_down_) throw handler_error("supervisor is shutting down");
  const SpawnRequest request = parse_spawn_request(params);
  if (request.idempotency_key.empty()) co_return co_await spawn_new(params);

  const std::string key = request.idempotency_key;
  auto earlier = co_await idempotency_.begin(key, IdempotencyStore::params_hash(params));
  if (earlier) {
    if (earlier->error) throw *earlier->error;
    co_return earlier->result.as_object();
  }
  std::optional<RpcError> failure;
  object result;
  try {
    result = co_await spawn_new(params);
  } catch (const RpcError& e) {
    failure = e;
  } catch (const std::exception& e) {
    failure = handler_error(e.what());
  }
  if (failure) {
    idempotency_.fail(key, *failure);
    throw *failure;
  }
  idempotency_.complete(key, result);
  co_return result;
}

asio::awaitable<object> Supervisor::spawn_new(const object& params) {
  SpawnRequest r = parse_spawn_request(params);
  if (shutting_down_) throw handler_error("supervisor is shutting down");

  // Admission (§10.8): parked and ended runtimes do not count.
  const std::size_t active = active_count();
  if (static_cast<std::int64_t>(active) >= options_.max_runtimes) {
    throw RpcError(rpc_code::capacity,
                   "max runtimes (" + std::to_string(options_.max_runtimes) + ") reached",
                   object{{"source", "local"},
                          {"retryable", true},
                          {"limit", options_.max_runtimes},
                          {"active", static_cast<std::int64_t>(active)}});
  }
  Reservation slot(reservations_);
  update_idle_timer();

  // Identity: a resumed session keeps the identity it was created with.
  if (!r.session_id.empty()) {
    SessionIdentity wanted{r.backend, r.agent, r.model, r.agent_profile};
    if (auto refused = sessions_.fill_for_resume(r.session_id, wanted))
      throw handler_error(*refused);
    r.backend = wanted.backend;
    r.agent = wanted.agent;
    r.model = wanted.model;
    r.agent_profile = wanted.agent_profile;
  }
  const std::string backend_name = r.backend.empty() ? "opencode-acp" : r.backend;
  auto backend = catalog_.find(backend_name);
  if (!backend) throw handler_error("unknown backend " + in_quotes(backend_name));
  if (!r.thinking.empty()) {
    auto bit = thinking_level_bit(r.thinking);
    if (!bit) throw handler_error("invalid thinking " + in_quotes(r.thinking));
    if ((backend->info.thinking_levels & *bit) == 0)
      throw handler_error("backend " + in_quotes(backend_name) +
                          " does not support parameter \"thinking\"");
  }

  // The parent: explicit, or the caller's own live runtime.
  std::string parent_id = r.parent_id;
  if (parent_id.empty() && !r.runtime_id.empty()) {
    if (auto it = runtimes_.find(r.runtime_id); it != runtimes_.end() && !it->second->ended())
      parent_id = r.runtime_id;
  }
  if (!parent_id.empty() && !runtimes_.contains(parent_id))
    throw handler_error("parent runtime " + in_quotes(parent_id) + " not found");

  const std::string runtime_id = "rt_" + std::to_string(next_runtime_++);
  registry_changed();  // ids are never reused, even after a crash

  if (r.prompt.empty() && r.prompt_file.empty() && r.loop_file.empty())
    throw handler_error("prompt, prompt_file, or loop_file is required");
  if (!r.prompt.empty() && !r.prompt_file.empty())
    throw RpcError::detail("prompt and prompt_file are mutually exclusive");
  if (!r.permission_handler.empty() &&
      !(r.permission_handler.starts_with("file:") && r.permission_handler.size() > 5))
    throw handler_error("--permission-handler supports file:<path> only");

  std::string server_url = r.server_url;
  if (server_url.empty()) {
    const char* env_url = std::getenv("AVENOR_OPENCODE_URL");
    if (env_url && *env_url) server_url = env_url;
  }
  bool managed_server = false;
  if (backend_name == "opencode-http" && server_url.empty()) {
    managed_server = true;
    std::error_code ec;
    const fs::path abs = fs::absolute(r.dir.value_or("."), ec).lexically_normal();
    try {
      server_url = co_await opencode_.url_for(abs.string());
    } catch (const std::exception& e) {
      throw handler_error(std::string("--server-url is required for backend opencode-http (") +
                          e.what() + ")");
    }
    if (shutting_down_) throw handler_error("supervisor is shutting down");
  }

  std::string effective_model = r.model;
  if (!r.agent.empty() && effective_model.empty()) {
    try {
      effective_model = lookup_agent_model(backend_name, r.agent);
    } catch (const std::exception& e) {
      err_ << "avenor stable: " << e.what() << "\n";
    }
  }

  const fs::path dir = prepare_runtime_dir(options_.state_dir, runtime_id);
  RuntimeSpec spec;
  spec.runtime_id = runtime_id;
  spec.label = r.label;
  spec.dir = r.dir.value_or(".");
  spec.agent = r.agent;
  spec.agent_profile = r.agent_profile;
  spec.model = r.model;
  spec.thinking = r.thinking;
  spec.backend = r.backend;
  spec.effective_agent = r.agent;
  spec.effective_model = effective_model;
  spec.effective_backend = backend_name;
  spec.on_event = r.on_event.empty() ? (dir / "events.ndjson").string() : r.on_event;
  spec.sentinel_file = r.sentinel_file.empty() ? (dir / "sentinel.env").string() : r.sentinel_file;
  spec.control_socket = (dir / "control.sock").string();
  spec.identity_token = random_hex(32);
  spec.parent_id = parent_id;
  spec.auto_approve = r.auto_approve;
  spec.loop = !r.loop_file.empty();
  spec.started_at = unix_ms_now();

  if (r.prompt.size() > kInlinePromptBytes) {
    const fs::path file = dir / "prompt.txt";
    write_file_atomically(file, r.prompt, ".prompt-", 0600);
    r.prompt_file = file.string();
    r.prompt.clear();
  }
  // A large permission policy would not fit one argv string either.
  if (r.permission_policy.size() > kInlinePromptBytes) {
    const fs::path file = dir / "permission-policy.json";
    write_file_atomically(file, r.permission_policy, ".policy-", 0600);
    r.permission_policy = file.string();
  }
  RuntimeCommand command;
  command.executable = self_executable();
  command.run_id = run_id_;
  command.runtime_id = runtime_id;
  command.control_socket = spec.control_socket;
  command.on_event = spec.on_event;
  command.sentinel_file = spec.sentinel_file;
  command.backend = r.backend;
  command.server_url = server_url;
  if (!spec.loop) command.parked_timeout = format_go_duration(options_.parked_timeout);

  DetachedLaunch launch;
  // /proc/self/exe stays this very binary even after the file was replaced
  // (an upgrade or a rebuild while the supervisor runs).
  launch.executable = "/proc/self/exe";
  // With a server URL, opencode-http takes its directory from the server (the
  // managed one runs there) and accepts only `--dir .`; the entry keeps the dir.
  SpawnRequest as_launched = r;
  if (managed_server) as_launched.dir = ".";
  launch.argv = runtime_argv(as_launched, command);
  launch.env = inherited_environment();
  launch.stderr_file = dir / "stderr.log";
  launch.identity_token = spec.identity_token;

  auto owned = std::make_unique<Runtime>(std::move(spec));
  Runtime& rt = *owned;
  try {
    rt.process = DetachedProcess::launch(io_, launch);
  } catch (const std::exception& e) {
    throw handler_error(e.what());
  }
  runtimes_.emplace(runtime_id, std::move(owned));
  slot.release();  // the runtime counts itself from here on
  if (!parent_id.empty()) runtimes_.at(parent_id)->children.push_back(runtime_id);
  rt.process->on_exit([this, runtime_id](std::optional<int> code, std::string why) {
    auto it = runtimes_.find(runtime_id);
    if (it != runtimes_.end()) runtime_exited(*it->second, code, std::move(why));
  });
  registry_changed();

  // Failures from here on remove the runtime (its id stays used).
  std::string failure;
  try {
    const bool ready = co_await rt.process->wait_ready(kReadyLimit);
    if (!ready) {
      failure = rt.process->exited() ? "" : "runtime did not become ready within 10s";
    } else {
      co_await link_runtime(rt, 256);
      if (!rt.spec.loop) {
        const auto deadline = std::chrono::steady_clock::now() + kSessionLimit;
        while (rt.session_id.empty() && !rt.ended() && !rt.process->exited() && rt.link &&
               !rt.link->closed()) {
          const bool notified = co_await rt.changed.wait_until(deadline);
          if (!notified) break;
        }
        if (rt.session_id.empty() && (rt.process->exited() || !rt.link || rt.link->closed()))
          failure = " ";
        else
          co_await refresh_backend_pid(runtime_id);
      }
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    auto it = runtimes_.find(runtime_id);
    std::string message = failure == " " ? "" : failure;
    if (it != runtimes_.end()) {
      Runtime& dead = *it->second;
      // What the runtime said last says why (e.g. `avenor: start session: …`).
      if (dead.process && !dead.process->exited()) dead.process->signal_group(SIGKILL);
      const std::string said = last_stderr_line(dir / "stderr.log");
      if (!said.empty()) message = said;
      if (dead.link) {
        dead.link->on_event({});
        dead.link->on_closed({});
        dead.link->close();
      }
      if (dead.process) dead.process->on_exit({});
      if (!parent_id.empty())
        if (auto p = runtimes_.find(parent_id); p != runtimes_.end())
          std::erase(p->second->children, runtime_id);
      runtimes_.erase(it);
    }
    slots_.notify();
    registry_changed();
    update_idle_timer();
    if (message.empty()) message = "runtime process exited before it was ready";
    throw handler_error(message);
  }

  object result{{"runtime_id", runtime_id},
                {"session_id", rt.session_id},
                {"on_event", rt.spec.on_event},
                {"sentinel_file", rt.spec.sentinel_file}};
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) result[key] = v;
  };
  put("agent", rt.spec.agent);
  put("agent_profile", rt.spec.agent_profile);
  put("model", rt.spec.model);
  put("backend", rt.spec.backend);
  put("effective_agent", rt.spec.effective_agent);
  put("effective_model", rt.spec.effective_model);
  put("effective_backend", rt.spec.effective_backend);
  co_return result;
}

asio::awaitable<void> Supervisor::link_runtime(Runtime& rt, std::int64_t replay_limit) {
  const std::string runtime_id = rt.spec.runtime_id;
  auto link = co_await RpcLink::connect(io_.get_executor(), rt.spec.control_socket,
                                        std::chrono::seconds(5));
  value identity = co_await link->call("identity", {}, std::chrono::seconds(10));
  const auto* id = identity.if_object();
  if (!id || json::string_or(*id, "token") != rt.spec.identity_token) {
    link->close();
    throw std::runtime_error("runtime " + in_quotes(runtime_id) + " failed the identity check");
  }
  auto it = runtimes_.find(runtime_id);
  if (it == runtimes_.end()) {
    link->close();
    co_return;
  }
  Runtime& live = *it->second;
  live.link = link;
  link->on_event([this, runtime_id](object e) {
    if (auto r = runtimes_.find(runtime_id); r != runtimes_.end()) ingest(*r->second, std::move(e));
  });
  link->on_closed([this, runtime_id] {
    auto r = runtimes_.find(runtime_id);
    if (r == runtimes_.end()) return;
    Runtime& rt = *r->second;
    rt.linked = false;
    rt.changed.notify();
    // A runtime whose link broke while its process lives on is still
    // steered through signals; its end is recorded when the process exits.
  });
  object subscribe{{"runtime_id", runtime_id}, {"replay", true}, {"limit", replay_limit}};
  co_await link->call("subscribe", std::move(subscribe), std::chrono::seconds(10));
  if (auto r = runtimes_.find(runtime_id); r != runtimes_.end()) r->second->linked = true;
}

asio::awaitable<void> Supervisor::acquire_slot() {
  while (static_cast<std::int64_t>(active_count()) >= options_.max_runtimes && !shutting_down_)
    co_await slots_.wait_for(std::chrono::seconds(2));  // re-checked at least every 2 s (§10.7)
}

}  // namespace avenor::host
