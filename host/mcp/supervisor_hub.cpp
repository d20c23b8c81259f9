#include "mcp/supervisor_hub.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <system_error>

#include "mcp/tool_args.hpp"
#include "util/duration.hpp"
#include "util/random_hex.hpp"
#include "util/unique_fd.hpp"

namespace avenor::host::mcp {

namespace asio = boost::asio;
namespace bj = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto kReadyLimit = 10s;
constexpr auto kLockLimit = 20s;
constexpr auto kShutdownGrace = 3s;

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// The parent directories of the socket, made 0700 when missing (cli.md §12).
void make_socket_dir(const fs::path& socket) {
  const fs::path dir = socket.parent_path();
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  fs::create_directories(dir.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw ToolError("create " + dir.string() + ": " + errno_text(errno));
}

// The start lock, held (flock) while this process decides who runs the
// supervisor; tried without blocking so the event loop keeps serving.
asio::awaitable<UniqueFd> take_start_lock(fs::path lock_path) {
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw ToolError("open " + lock_path.string() + ": " + errno_text(errno));
  const auto deadline = std::chrono::steady_clock::now() + kLockLimit;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      throw ToolError("lock " + lock_path.string() + ": " + errno_text(errno));
    if (std::chrono::steady_clock::now() > deadline)
      throw ToolError("another process holds " + lock_path.string() + " (starting a supervisor)");
    co_await pause(50ms);
  }
  co_return fd;
}

std::string token_of(const bj::value& identity) {
  const bj::object* o = identity.if_object();
  const bj::value* t = o != nullptr ? o->if_contains("token") : nullptr;
  return (t != nullptr && t->is_string()) ? std::string(t->get_string()) : std::string();
}

}  // namespace

SupervisorHub::SupervisorHub(asio::io_context& io, HubOptions options)
    : io_(io), options_(std::move(options)) {
  std::error_code ec;
  default_id_ = options_.supervisor_socket.empty()
                    ? fs::absolute(options_.control_socket, ec).string()
                    : fs::absolute(options_.supervisor_socket, ec).string();
}

SupervisorHub::~SupervisorHub() {
  if (link_) link_->close();
}

std::string SupervisorHub::resolve(const std::string& supervisor_id) const {
  if (supervisor_id.empty()) return default_id_;
  std::error_code ec;
  return fs::absolute(supervisor_id, ec).lexically_normal().string();
}

asio::awaitable<std::shared_ptr<RpcLink>> SupervisorHub::dial(std::string path) {
  try {
    co_return co_await RpcLink::connect(io_.get_executor(), path, 5s);
  } catch (const LinkClosedError& e) {
    std::string reason = e.what();
    if (reason.starts_with("dial ")) reason = reason.substr(5);  // "dial <path>: <why>"
    throw ToolError("supervisor " + reason);
  }
}

asio::awaitable<void> SupervisorHub::connect_eagerly() {
  link_ = co_await dial(default_id_);
  co_await link_->call("status", bj::object{}, 5s);
}

// A supervisor answering `status` at `path`, or nullptr.
asio::awaitable<std::shared_ptr<RpcLink>> SupervisorHub::healthy(std::string path) {
  std::shared_ptr<RpcLink> link;
  try {
    link = co_await RpcLink::connect(io_.get_executor(), path, 2s);
    co_await link->call("status", bj::object{}, 5s);
  } catch (const std::exception&) {
    if (link) link->close();
    link.reset();
  }
  co_return link;
}

asio::awaitable<std::shared_ptr<RpcLink>> SupervisorHub::start_or_attach() {
  const fs::path socket = default_id_;
  make_socket_dir(socket);
  UniqueFd lock = co_await take_start_lock(socket.string() + ".start.lock");
  std::shared_ptr<RpcLink> link = co_await healthy(socket.string());
  if (link) co_return link;  // attach: shared, never shut down by us

  DetachedLaunch launch;
  launch.executable = "/proc/self/exe";
  launch.argv = {"avenor",        "stable",         "--control-socket",
                 socket.string(), "--idle-timeout", format_go_duration(options_.idle_timeout)};
  launch.env = inherited_environment();
  launch.stderr_file = socket.string() + ".stderr.log";
  launch.identity_token = random_hex(32);
  std::unique_ptr<DetachedProcess> child;
  try {
    child = DetachedProcess::launch(io_, launch);
  } catch (const std::exception& e) {
    throw ToolError(std::string("start supervisor: ") + e.what());
  }
  const bool ready = co_await child->wait_ready(kReadyLimit);
  if (ready) link = co_await healthy(socket.string());
  std::string token;
  if (link) {
    try {
      token = token_of(co_await link->call("identity", bj::object{}, 5s));
    } catch (const std::exception&) {
    }
  }
  if (link && token == launch.identity_token) {
    child->on_exit([](std::optional<int>, std::string) {});
    started_ = std::move(child);
    co_return link;
  }
  // Not ours: a competitor bound the socket first (attach to it), or ours
  // never became ready.
  child->signal_group(SIGKILL);
  if (link) co_return link;
  throw ToolError("start supervisor at " + socket.string() + ": no ready signal within " +
                  format_go_duration(kReadyLimit) + " (see " + launch.stderr_file.string() + ")");
}

asio::awaitable<std::shared_ptr<RpcLink>> SupervisorHub::default_link() {
  // Callers arriving while another one connects wait for its outcome.
  while (connecting_) co_await connected_.wait_for(1s);
  if (link_ && !link_->closed()) co_return link_;
  connecting_ = true;
  try {
    if (!options_.autostart) {
      link_ = co_await dial(default_id_);
    } else {
      link_ = co_await start_or_attach();
    }
  } catch (...) {
    connecting_ = false;
    connected_.notify();
    throw;
  }
  connecting_ = false;
  connected_.notify();
  co_return link_;
}

asio::awaitable<bj::value> SupervisorHub::call(std::string supervisor_id, std::string method,
                                               bj::object params,
                                               std::chrono::milliseconds timeout) {
  const std::string id = resolve(supervisor_id);
  std::shared_ptr<RpcLink> link;
  const bool fresh = id != default_id_;
  if (fresh) {
    link = co_await dial(id);
  } else {
    link = co_await default_link();
  }
  std::exception_ptr failure;
  bj::value result;
  try {
    result = co_await link->call(method, std::move(params), timeout);
  } catch (const LinkClosedError& e) {
    failure = std::make_exception_ptr(ToolError("supervisor " + id + ": " + e.what()));
  } catch (...) {
    failure = std::current_exception();
  }
  if (fresh) link->close();
  if (failure) std::rethrow_exception(failure);
  co_return result;
}

asio::awaitable<void> SupervisorHub::wait_gone(std::string path, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  // A supervisor we started is gone when its process is (its socket closes
  // before it has ended its runtimes); another one when it stops answering.
  const bool owned = started_ && path == default_id_;
  while (std::chrono::steady_clock::now() < deadline) {
    if (owned) {
      if (started_->exited()) co_return;
    } else {
      std::shared_ptr<RpcLink> probe = co_await healthy(path);
      if (!probe) co_return;
      probe->close();
    }
    co_await pause(50ms);
  }
}

asio::awaitable<void> SupervisorHub::shutdown(std::string supervisor_id, bool force) {
  const std::string id = resolve(supervisor_id);
  // Never start a supervisor only to stop it: the default one is reached
  // through the open connection or not at all.
  std::shared_ptr<RpcLink> link;
  bool fresh = false;
  if (id == default_id_ && link_ && !link_->closed()) {
    link = link_;
  } else {
    link = co_await healthy(id);
    fresh = true;
  }
  if (link) {
    bj::object params{{"mode", force ? "kill" : "graceful"}};
    std::exception_ptr failure;
    try {
      co_await link->call("shutdown", std::move(params), kCallTimeout);
    } catch (const LinkClosedError&) {
      // It went away while answering: that is what was asked.
    } catch (...) {
      failure = std::current_exception();
    }
    if (fresh) link->close();
    if (failure) std::rethrow_exception(failure);
    co_await wait_gone(id, kShutdownGrace);
  }
  if (id == default_id_) {
    if (started_ && !started_->exited()) started_->signal_group(SIGKILL);
    started_.reset();
    if (link_) link_->close();
    link_.reset();
  }
}

asio::awaitable<void> SupervisorHub::close() {
  if (!started_ || started_->exited()) co_return;
  try {
    co_await shutdown(default_id_, false);
  } catch (const std::exception&) {
    // Unreachable: it is killed below.
  }
  if (started_ && !started_->exited()) started_->signal_group(SIGKILL);
  started_.reset();
}

}  // namespace avenor::host::mcp
