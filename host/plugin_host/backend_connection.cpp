#include "plugin_host/backend_connection.hpp"

#include <avenor/sdk/descriptor_check.hpp>
#include <avenor/sdk/host.hpp>
#include <avenor/sdk/json.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <stdexcept>

#include "plugin_host/launch_environment.hpp"
#include "plugin_host/missing_executable.hpp"
#include "util/diagnostics.hpp"
#include "util/executable_search.hpp"

namespace avenor::host {

namespace asio = boost::asio;
using sdk::from_abi;
using sdk::to_abi;

namespace {

void append_to_string(void* ctx, avenor_str text) {
  static_cast<std::string*>(ctx)->append(from_abi(text));
}

avenor_sink string_sink(std::string& s) { return avenor_sink{&s, &append_to_string}; }

}  // namespace

// The C side of avenor_host_api. Each function only queues work: the plugin
// may be in the middle of a call, so nothing here calls back into it.
struct BackendConnection::HostApi {
  static BackendConnection& self(void* ctx) { return *static_cast<BackendConnection*>(ctx); }

  // ABI 1.1: the event as JSON text, parsed here (leniently, like a frame).
  static void emit_event(void* ctx, avenor_str json_text) {
    auto& c = self(ctx);
    if (auto event = c.parse_event(from_abi(json_text)))
      c.queue_event(BackendEvent::from_object(std::move(*event)));
  }
  // ABI 1.2: the event serialised with the fields the host reads. Bytes that
  // fail the host's checks are parsed and re-encoded instead.
  static void emit_event_serialized(void* ctx, const avenor_event* e) {
    auto& c = self(ctx);
    if (e == nullptr || e->struct_size < offsetof(avenor_event, flags) + sizeof(e->flags)) {
      diagnostics::warn("plugin " + c.backend_.info.name + " emitted a malformed event record");
      return;
    }
    const std::string_view body = from_abi(e->json);
    if (!is_trusted_event_body(body)) {
      if (auto event = c.parse_event(body))
        c.queue_event(BackendEvent::from_object(std::move(*event)));
      return;
    }
    c.queue_event(BackendEvent::from_serialized(body, from_abi(e->event), from_abi(e->session_id),
                                                from_abi(e->text),
                                                (e->flags & AVENOR_EVENT_USAGE) != 0));
  }
  static void write(void* ctx, avenor_str bytes) {
    auto& c = self(ctx);
    if (c.child_) c.child_->write(std::string(from_abi(bytes)));
  }
  static void complete(void* ctx, std::uint64_t op, avenor_str result) {
    OperationResult r;
    try {
      r.value = sdk::json::parse(from_abi(result));
    } catch (const std::exception& e) {
      r.status = OperationResult::Status::failed;
      r.error = std::string("plugin returned an invalid result: ") + e.what();
    }
    self(ctx).finish_operation(op, std::move(r));
  }
  static void fail(void* ctx, std::uint64_t op, std::int32_t failure, avenor_str message) {
    OperationResult r;
    r.status = failure == AVENOR_FAILURE_CANCELLED ? OperationResult::Status::cancelled
                                                   : OperationResult::Status::failed;
    r.error = std::string(from_abi(message));
    self(ctx).finish_operation(op, std::move(r));
  }
  static void set_timer(void* ctx, std::uint64_t id, std::uint64_t delay_ms) {
    auto& c = self(ctx);
    auto& timer = c.timers_[id];
    if (!timer) timer = std::make_unique<asio::steady_timer>(c.io_);
    timer->expires_after(std::chrono::milliseconds(delay_ms));
    timer->async_wait([&c, alive = c.alive_, id](boost::system::error_code ec) {
      if (ec || !*alive || c.closed_) return;
      c.backend_.library->vtable().on_timer(c.instance_, id);
    });
  }
  static void cancel_timer(void* ctx, std::uint64_t id) {
    auto& c = self(ctx);
    if (auto it = c.timers_.find(id); it != c.timers_.end()) it->second->cancel();
  }
  static void log(void* ctx, std::int32_t level, avenor_str message) {
    auto& c = self(ctx);
    using diagnostics::Level;
    const Level lvl = level >= AVENOR_LOG_ERROR  ? Level::error
                      : level >= AVENOR_LOG_WARN ? Level::warn
                      : level >= AVENOR_LOG_INFO ? Level::info
                                                 : Level::debug;
    if (diagnostics::enabled(lvl))
      diagnostics::write(lvl, c.backend_.info.name + ": " + std::string(from_abi(message)));
  }
  static void call(void* ctx, std::uint64_t call_id, avenor_str service, avenor_str request) {
    self(ctx).services_->start(call_id, from_abi(service), from_abi(request));
  }
  static void cancel_call(void* ctx, std::uint64_t call_id) {
    self(ctx).services_->cancel(call_id);
  }
  static void fatal(void* ctx, avenor_str message) {
    auto& c = self(ctx);
    std::string reason(from_abi(message));
    if (c.child_) {
      c.child_->kill_now(reason);
    } else {
      c.open_batch_.reset();  // events emitted before come first
      asio::post(c.io_, [&c, alive = c.alive_, reason] {
        if (*alive) c.deliver_closed(reason);
      });
    }
  }
};

BackendConnection::BackendConnection(asio::io_context& io, const BackendEntry& backend,
                                     const sdk::StartOptions& options, Callbacks callbacks)
    : io_(io), backend_(backend), callbacks_(std::move(callbacks)) {
  api_.struct_size = sizeof(avenor_host_api);
  api_.ctx = this;
  api_.emit_event = &HostApi::emit_event;
  api_.write = &HostApi::write;
  api_.complete = &HostApi::complete;
  api_.fail = &HostApi::fail;
  api_.set_timer = &HostApi::set_timer;
  api_.cancel_timer = &HostApi::cancel_timer;
  api_.log = &HostApi::log;
  api_.fatal = &HostApi::fatal;
  api_.call = &HostApi::call;
  api_.cancel_call = &HostApi::cancel_call;
  api_.emit_event_serialized = &HostApi::emit_event_serialized;

  ServiceRouter::Output output;
  output.data = [this](std::uint64_t call, std::string data) {
    if (!closed_ && plugin_takes_service_results())
      backend_.library->vtable().on_call_data(instance_, call, to_abi(data));
  };
  output.end = [this](std::uint64_t call, std::int32_t status, std::string text) {
    if (!closed_ && plugin_takes_service_results())
      backend_.library->vtable().on_call_result(instance_, call, status, to_abi(text));
  };
  output.missing_executable = [this](std::string program) {
    if (missing_executable_.empty()) missing_executable_ = std::move(program);
  };
  services_ = std::make_unique<ServiceRouter>(io_, std::move(output));

  std::string options_json = sdk::json::dump(options.to_json());
  std::string error;
  const auto& name = backend_.info.name;
  if (backend_.library->vtable().create(to_abi(name), to_abi(options_json), &api_, &instance_,
                                        string_sink(error)) != 0 ||
      !instance_)
    throw std::runtime_error(error.empty() ? "plugin refused to create the backend" : error);
}

BackendConnection::~BackendConnection() {
  *alive_ = false;
  closed_ = true;
  services_.reset();  // stops every call before the plugin instance goes
  for (auto& [id, t] : timers_) t->cancel();
  // Destroying the instance may fail its dropped operations; nobody listens now.
  if (instance_) backend_.library->vtable().destroy(instance_);
}

void BackendConnection::launch() {
  std::string spec_json, error;
  if (backend_.library->vtable().launch_spec(instance_, string_sink(spec_json),
                                             string_sink(error)) != 0)
    throw std::runtime_error(error);
  LaunchRequest request = parse_launch_request(spec_json);
  if (request.argv.empty()) return;  // a backend that only uses host services
  // A bare name is looked up on PATH: say so when it is not there, rather
  // than pass on the bare ENOENT of the spawn.
  const std::string& program = request.argv.front();
  if (program.find('/') == std::string::npos && !find_on_path(program))
    throw MissingExecutable(program);
  ChildHandlers handlers;
  handlers.on_stdout = [this, alive = alive_](std::string_view bytes) {
    if (*alive) deliver_bytes(bytes);  // the plugin copies what it keeps
  };
  handlers.on_closed = [this, alive = alive_](std::string reason) {
    if (*alive) deliver_closed(std::move(reason));
  };
  child_ = ChildProcess::spawn(io_, make_child_spec(request), std::move(handlers));
}

bool BackendConnection::plugin_takes_service_results() const {
  return sdk::takes_service_results(backend_.library->vtable());
}

pid_t BackendConnection::pid() const { return child_ ? child_->pid() : 0; }

void BackendConnection::deliver_bytes(std::string_view bytes) {
  if (closed_) return;
  backend_.library->vtable().on_bytes(instance_, to_abi(bytes));
}

void BackendConnection::deliver_closed(std::string reason) {
  if (closed_) return;
  closed_ = true;
  backend_.library->vtable().on_closed(instance_, to_abi(reason));
  open_batch_.reset();  // events emitted before (even inside on_closed) come first
  // Anything the plugin did not finish cannot finish any more.
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, done] : pending) {
    OperationResult r;
    r.status = OperationResult::Status::failed;
    r.error = reason;
    asio::post(io_, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }
  asio::post(io_, [this, alive = alive_, reason] {
    if (*alive && callbacks_.on_closed) callbacks_.on_closed(reason);
  });
}

std::optional<boost::json::object> BackendConnection::parse_event(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = event_parser_.parse(text, ec);
  if (ec || !v.is_object()) {
    diagnostics::warn("plugin " + backend_.info.name + " emitted an invalid event: " +
                      (ec ? "invalid JSON: " + ec.message() : "event is not a JSON object"));
    return std::nullopt;
  }
  return std::move(v.get_object());
}

// Events emitted back to back travel in one posted batch (one handler, not
// one per event). Anything else this connection posts closes the open batch
// first, so events and operation results still arrive in emission order.
void BackendConnection::queue_event(BackendEvent event) {
  if (!open_batch_) {
    open_batch_ = std::make_shared<std::vector<BackendEvent>>();
    open_batch_->reserve(kBatchReserve);  // a flood's read brings hundreds: few regrowths
    asio::post(io_, [this, alive = alive_, batch = open_batch_] {
      if (!*alive) return;
      if (open_batch_ == batch) open_batch_.reset();  // later events start a new batch
      if (callbacks_.on_events) callbacks_.on_events(std::move(*batch));
    });
  }
  open_batch_->push_back(std::move(event));
}

void BackendConnection::finish_operation(std::uint64_t op, OperationResult result) {
  auto it = pending_.find(op);
  if (it == pending_.end()) return;
  auto done = std::move(it->second);
  pending_.erase(it);
  open_batch_.reset();
  asio::post(io_, [alive = alive_, done = std::move(done), result = std::move(result)]() mutable {
    if (*alive) done(std::move(result));
  });
}

void BackendConnection::call_operation(PluginCall fn, const boost::json::object& params,
                                       OperationCallback done) {
  if (closed_) {
    OperationResult r;
    r.status = OperationResult::Status::failed;
    r.error = "backend connection is closed";
    asio::post(io_, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    return;
  }
  std::uint64_t op = next_op_++;
  pending_.emplace(op, std::move(done));
  std::string text = sdk::json::dump(params);
  fn(instance_, op, to_abi(text));
}

void BackendConnection::start_session(boost::json::object params, OperationCallback done) {
  call_operation(backend_.library->vtable().start_session, params, std::move(done));
}
void BackendConnection::prompt(boost::json::object params, OperationCallback done) {
  call_operation(backend_.library->vtable().prompt, params, std::move(done));
}
void BackendConnection::cancel(boost::json::object params, OperationCallback done) {
  call_operation(backend_.library->vtable().cancel, params, std::move(done));
}
void BackendConnection::answer_permission(boost::json::object params, OperationCallback done) {
  call_operation(backend_.library->vtable().answer_permission, params, std::move(done));
}

void BackendConnection::close(std::function<void()> done) {
  for (auto& [id, t] : timers_) t->cancel();
  if (!child_) {
    asio::post(io_, std::move(done));
    return;
  }
  child_->close(std::move(done));
}

}  // namespace avenor::host
