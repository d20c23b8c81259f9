#include "stable/managed_opencode.hpp"

#include <signal.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "plugin_host/launch_environment.hpp"
#include "process/child_process.hpp"
#include "stable/managed_event.hpp"
#include "stable/managed_health.hpp"
#include "util/diagnostics.hpp"
#include "util/utf8.hpp"

namespace avenor::host {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kFirstHealthRetry = 50ms;
constexpr std::chrono::milliseconds kMaxHealthRetry = 500ms;
constexpr std::chrono::milliseconds kHealthRequestTimeout = 5s;
constexpr std::chrono::milliseconds kStartLimit = 30s;
// A server that was healthy gets this long to answer again before it is
// restarted: a restart cuts every runtime using it, so a busy moment must not.
constexpr std::chrono::milliseconds kRecheckLimit = 10s;
constexpr std::chrono::milliseconds kTermGrace = 3s;
constexpr std::size_t kOutputTailBytes = 2048;
constexpr const char* kStopping = "managed opencode servers are stopping";

// The server exited before it was healthy: worth one retry on a new port,
// since the free port may have been taken in between.
struct ExitedEarly : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string seconds(std::chrono::milliseconds d) { return std::to_string(d.count() / 1000) + "s"; }

std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  auto nl = text.find_last_of('\n');
  return std::string(nl == std::string_view::npos ? text : text.substr(nl + 1));
}

// Bind 127.0.0.1:0 and give the port back; opencode binds it a moment later.
unsigned short free_port(asio::io_context& io, const std::set<unsigned short>& taken) {
  for (int attempt = 0;; ++attempt) {
    boost::system::error_code ec;
    asio::ip::tcp::acceptor acceptor(io);
    const asio::ip::tcp::endpoint any(asio::ip::address_v4::loopback(), 0);
    acceptor.open(any.protocol(), ec);
    if (!ec) acceptor.bind(any, ec);
    if (ec) throw std::runtime_error("pick a free port: " + ec.message());
    const unsigned short port = acceptor.local_endpoint(ec).port();
    if (ec) throw std::runtime_error("pick a free port: " + ec.message());
    if (!taken.count(port) || attempt >= 20) return port;
  }
}

}  // namespace

// One `opencode serve` process and what is known about it.
struct ManagedGeneration {
  ManagedGeneration(asio::io_context& io, std::shared_ptr<std::set<unsigned short>> book)
      : exited(io.get_executor()), ports(std::move(book)) {}
  ~ManagedGeneration() {
    if (port != 0) ports->erase(port);
  }
  ManagedGeneration(const ManagedGeneration&) = delete;
  ManagedGeneration& operator=(const ManagedGeneration&) = delete;

  bool alive() const { return child && child->running() && !exited.is_set(); }
  void terminate() const {
    // Only while unreaped: then the pid (= process group id) is still ours.
    if (child && child->running()) ::kill(-child->pid(), SIGTERM);
  }
  void kill(std::string why) const {
    if (child) child->kill_now(std::move(why));
  }
  std::string output_tail() const {
    std::string tail = child ? last_line(child->stderr_tail()) : std::string();
    // The tail may start inside a character; the message may end up in JSON.
    return to_valid_utf8(tail.empty() ? last_line(stdout_tail) : tail);
  }

  ManagedEvent exited;  // set once the child is reaped (on_closed)
  std::string reason;   // on_closed's reason
  std::string stdout_tail;
  unsigned short port = 0;
  pid_t pgid = 0;
  std::string url;
  std::shared_ptr<std::set<unsigned short>> ports;
  // Last, so it is destroyed first and its callbacks (which use the fields
  // above through a raw pointer) are dropped before those fields go.
  std::unique_ptr<ChildProcess> child;
};

// The shared start (or health re-check) all concurrent callers wait for.
struct ManagedEnsure {
  explicit ManagedEnsure(asio::io_context& io) : done(io.get_executor()) {}
  ManagedEvent done;
  std::string url;
  std::string error;  // non-empty on failure
};

class ManagedOpencodeServer {
 public:
  ManagedOpencodeServer(asio::io_context& io, std::string dir,
                        std::shared_ptr<std::set<unsigned short>> ports)
      : io(io), dir(std::move(dir)), ports(std::move(ports)) {}

  asio::io_context& io;
  const std::string dir;
  std::shared_ptr<std::set<unsigned short>> ports;
  std::shared_ptr<ManagedGeneration> current;
  std::shared_ptr<ManagedEnsure> ensuring;
  bool stopping = false;
};

namespace {

// SIGTERM to the group, SIGKILL after `grace` (at once for 0); returns once
// the child is reaped.
asio::awaitable<void> stop_generation(std::shared_ptr<ManagedGeneration> gen,
                                      std::chrono::milliseconds grace) {
  if (gen->exited.is_set()) co_return;
  if (grace.count() > 0) {
    gen->terminate();
    const auto deadline = Clock::now() + grace;
    const bool exited = co_await gen->exited.wait_until(deadline);
    if (exited) co_return;
  }
  gen->kill("managed opencode server killed after " + seconds(grace));
  co_await gen->exited.wait_until(Clock::time_point::max());  // SIGKILL: bounded
}

// Polls GET /global/health with backoff until 200, a 4xx, the child's exit or
// the limit. Empty on success, else why not.
asio::awaitable<std::string> await_healthy(const ManagedOpencodeServer& server,
                                           std::shared_ptr<ManagedGeneration> gen,
                                           std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  auto delay = kFirstHealthRetry;
  std::string last = "no answer yet";
  for (;;) {
    if (gen->exited.is_set()) co_return "opencode serve exited: " + gen->reason;
    if (server.stopping) co_return kStopping;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    const std::chrono::milliseconds request_timeout = std::min(kHealthRequestTimeout, left);
    const HealthAnswer answer = co_await check_opencode_health(gen->port, request_timeout);
    if (answer.status == 200) co_return std::string();
    if (gen->exited.is_set()) continue;  // reported at the top
    // 4xx (e.g. 401: a password is required) will not change by asking again.
    if (answer.status >= 400 && answer.status < 500)
      co_return "GET " + gen->url + "/global/health: " + answer.describe();
    last = answer.describe();
    const Clock::time_point retry_at = std::min(Clock::now() + delay, deadline);
    co_await gen->exited.wait_until(retry_at);
    delay = std::min(delay * 2, kMaxHealthRetry);
  }
  std::string why = "not healthy within " + seconds(limit) + " at " + gen->url +
                    " (last health check: " + last + ")";
  if (auto tail = gen->output_tail(); !tail.empty()) why += "; last output: " + tail;
  co_return why;
}

asio::awaitable<std::string> start_once(std::shared_ptr<ManagedOpencodeServer> server) {
  if (server->stopping) throw std::runtime_error(kStopping);
  auto gen = std::make_shared<ManagedGeneration>(server->io, server->ports);
  gen->port = free_port(server->io, *server->ports);
  server->ports->insert(gen->port);
  gen->url = "http://127.0.0.1:" + std::to_string(gen->port);

  // `opencode serve` has no --cwd: its project is its working directory.
  // --pure, as the opencode-http plugin's managed server: no external plugins.
  // The URL handed out carries no credentials, so no password may be inherited.
  LaunchRequest request;
  request.argv = {"opencode",  "serve",  "--hostname",
                  "127.0.0.1", "--port", std::to_string(gen->port),
                  "--pure"};
  request.unset_env = {"OPENCODE_SERVER_PASSWORD", "OPENCODE_SERVER_USERNAME"};
  request.cwd = server->dir;
  ManagedGeneration* raw = gen.get();
  ChildHandlers handlers;
  handlers.on_stdout = [raw](std::string_view bytes) {
    raw->stdout_tail += bytes;
    if (raw->stdout_tail.size() > kOutputTailBytes)
      raw->stdout_tail.erase(0, raw->stdout_tail.size() - kOutputTailBytes);
  };
  handlers.on_closed = [raw](std::string reason) {
    // The server is reaped; helpers it started (in its group) would outlive
    // it as orphans. The group id cannot have been reused this soon.
    if (raw->pgid > 0) ::kill(-raw->pgid, SIGKILL);
    raw->reason = std::move(reason);
    raw->exited.set();
  };
  gen->child = ChildProcess::spawn(server->io, make_child_spec(request), std::move(handlers));
  gen->pgid = gen->child->pid();  // its own process group
  server->current = gen;
  if (diagnostics::enabled(diagnostics::Level::debug))
    diagnostics::debug("managed opencode server for " + server->dir + ": pid " +
                       std::to_string(gen->child->pid()) + " on " + gen->url);

  std::string failure = co_await await_healthy(*server, gen, kStartLimit);
  if (failure.empty()) {
    diagnostics::info("managed opencode server for " + server->dir + " is healthy at " + gen->url);
    co_return gen->url;
  }
  const bool exited_early = gen->exited.is_set();
  // stop_all owns a server it is stopping: SIGTERM and its grace, not SIGKILL now.
  if (server->stopping && !exited_early) throw std::runtime_error(kStopping);
  co_await stop_generation(gen, 0ms);
  if (server->current == gen) server->current.reset();
  if (exited_early) throw ExitedEarly(failure);
  throw std::runtime_error(failure);
}

// The URL of a healthy server for this directory, re-checking a running one
// and (re)starting it when needed.
asio::awaitable<std::string> ensure(std::shared_ptr<ManagedOpencodeServer> server) {
  // Plain locals and no co_await inside conditions: GCC 12 miscompiles some
  // of those forms in coroutines.
  const std::shared_ptr<ManagedGeneration> gen = server->current;
  if (gen != nullptr) {
    const bool was_alive = gen->alive();
    std::string failure = "it has exited";
    if (was_alive) failure = co_await await_healthy(*server, gen, kRecheckLimit);
    if (failure.empty()) co_return gen->url;
    if (server->stopping) throw std::runtime_error(kStopping);
    if (!was_alive) failure += " (" + gen->reason + ")";
    diagnostics::warn("managed opencode server for " + server->dir + " is unusable: " + failure +
                      "; restarting it");
    // SIGTERM and its grace for a live one; for a dead one this sweeps its
    // group if its exit is not reported yet.
    const std::chrono::milliseconds grace = was_alive ? kTermGrace : 0ms;
    co_await stop_generation(gen, grace);
    if (server->current == gen) server->current.reset();
  }
  for (int attempt = 1;; ++attempt) {
    std::string url;
    std::string retry_reason;
    try {
      url = co_await start_once(server);
    } catch (const ExitedEarly& e) {
      if (attempt >= 2 || server->stopping) throw;
      retry_reason = e.what();
    }
    if (!url.empty()) co_return url;
    diagnostics::info("managed opencode server for " + server->dir + ": " + retry_reason +
                      "; retrying on another port");
  }
}

asio::awaitable<void> run_ensure(std::shared_ptr<ManagedOpencodeServer> server,
                                 std::shared_ptr<ManagedEnsure> op) {
  try {
    op->url = co_await ensure(server);
  } catch (const std::exception& e) {
    op->error = *e.what() != '\0' ? e.what() : "unknown failure";
  } catch (...) {
    op->error = "unknown failure";
  }
  if (server->ensuring == op) server->ensuring.reset();
  op->done.set();
}

std::string normalized(const std::string& dir) {
  std::string s = std::filesystem::path(dir).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

ManagedOpencodeServers::ManagedOpencodeServers(asio::io_context& io)
    : io_(io), ports_(std::make_shared<std::set<unsigned short>>()) {}

ManagedOpencodeServers::~ManagedOpencodeServers() {
  for (auto& [dir, server] : servers_) {
    server->stopping = true;
    if (auto gen = server->current) {
      gen->child.reset();  // SIGKILLs the group and reaps, so no zombie and no orphan
      if (!gen->exited.is_set()) {
        gen->reason = "stopped";
        gen->exited.set();  // wakes a start still polling, which then fails
      }
    }
    server->current.reset();
  }
}

asio::awaitable<std::string> ManagedOpencodeServers::url_for(std::string absolute_dir) {
  const std::string prefix = "start managed opencode server for " + absolute_dir + ": ";
  if (stopping_) throw std::runtime_error(prefix + kStopping);
  if (absolute_dir.empty() || absolute_dir.front() != '/')
    throw std::runtime_error(prefix + "not an absolute directory");
  auto& slot = servers_[normalized(absolute_dir)];
  if (!slot) slot = std::make_shared<ManagedOpencodeServer>(io_, normalized(absolute_dir), ports_);
  auto server = slot;
  std::shared_ptr<ManagedEnsure> op = server->ensuring;
  if (op == nullptr) {
    op = std::make_shared<ManagedEnsure>(io_);
    server->ensuring = op;
    // Its own coroutine, so one caller giving up does not strand the others.
    // It may run to completion right here (a start that fails at once).
    asio::co_spawn(io_, run_ensure(server, op), asio::detached);
  }
  co_await op->done.wait_until(Clock::time_point::max());
  if (!op->error.empty()) throw std::runtime_error(prefix + op->error);
  co_return op->url;
}

asio::awaitable<void> ManagedOpencodeServers::stop_all() {
  stopping_ = true;
  std::vector<std::shared_ptr<ManagedGeneration>> gens;
  for (auto& [dir, server] : servers_) {
    server->stopping = true;
    if (server->current) gens.push_back(server->current);
  }
  // All at once, so n servers take one grace period, not n.
  for (const auto& gen : gens) gen->terminate();
  const auto deadline = Clock::now() + kTermGrace;
  for (const auto& gen : gens) {
    const bool exited = co_await gen->exited.wait_until(deadline);
    if (!exited) gen->kill("managed opencode server did not stop within " + seconds(kTermGrace));
  }
  for (const auto& gen : gens) co_await gen->exited.wait_until(Clock::time_point::max());
  for (auto& [dir, server] : servers_) server->current.reset();
}

}  // namespace avenor::host
