#include "control_client/rpc_link.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <optional>
#include <variant>

#include "util/duration.hpp"
#include "util/json_text.hpp"

namespace avenor::host {

namespace asio = boost::asio;
using boost::json::object;
using boost::json::value;
using stream_protocol = asio::local::stream_protocol;

namespace {

// Frames are flat events and small results; the parser's state lives on the
// heap, so this only bounds memory a hostile peer could make it use.
constexpr std::size_t kMaxDepth = 512;

std::string describe(std::chrono::milliseconds d) {
  return format_go_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(d));
}

}  // namespace

LinkCallError::LinkCallError(int code, std::string message, value data)
    : std::runtime_error(std::move(message)), code_(code), data_(std::move(data)) {}

// One outstanding call. The timer is both the call's deadline and its wake-up
// signal: a response (or the link's end) cancels it after setting `outcome`.
struct RpcLink::Pending {
  explicit Pending(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  std::optional<std::variant<value, LinkCallError, LinkClosedError>> outcome;
};

asio::awaitable<std::shared_ptr<RpcLink>> RpcLink::connect(asio::any_io_executor ex,
                                                           std::string path,
                                                           std::chrono::milliseconds timeout) {
  std::optional<stream_protocol::endpoint> endpoint;
  try {
    endpoint.emplace(path);
  } catch (const std::exception& e) {  // e.g. longer than sun_path
    throw LinkClosedError("dial " + path + ": " + e.what());
  }
  // Shared with the deadline handler, which may run after this frame is gone.
  auto socket = std::make_shared<stream_protocol::socket>(ex);
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer deadline(ex);
  if (timeout.count() > 0) {
    deadline.expires_after(timeout);
    deadline.async_wait([socket, timed_out](boost::system::error_code ec) {
      if (ec) return;
      *timed_out = true;
      boost::system::error_code ignored;
      socket->close(ignored);
    });
  }
  boost::system::error_code ec;
  co_await socket->async_connect(*endpoint, asio::redirect_error(asio::use_awaitable, ec));
  deadline.cancel();
  if (*timed_out) throw LinkClosedError("dial " + path + ": timeout after " + describe(timeout));
  if (ec) throw LinkClosedError("dial " + path + ": " + ec.message());
  auto link = std::make_shared<RpcLink>(std::move(*socket), std::move(path));
  link->start();
  co_return link;
}

RpcLink::RpcLink(stream_protocol::socket socket, std::string path)
    : socket_(std::move(socket)), path_(std::move(path)), write_signal_(socket_.get_executor()) {}

RpcLink::~RpcLink() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void RpcLink::start() {
  auto self = shared_from_this();
  asio::co_spawn(
      socket_.get_executor(), [self]() { return self->read_loop(); }, asio::detached);
  asio::co_spawn(
      socket_.get_executor(), [self]() { return self->write_loop(); }, asio::detached);
}

void RpcLink::on_event(std::function<void(object params)> handler) {
  on_event_ = std::move(handler);
}

void RpcLink::on_closed(std::function<void()> handler) {
  if (closed_notified_) {
    // Registered after the end was reported: still report it, once.
    if (handler) asio::post(socket_.get_executor(), std::move(handler));
    return;
  }
  on_closed_ = std::move(handler);
}

asio::awaitable<value> RpcLink::call(std::string method, object params,
                                     std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  if (closed_) throw LinkClosedError(close_reason_);
  const std::int64_t id = next_id_++;
  auto pending = std::make_shared<Pending>(socket_.get_executor());
  pending_.emplace(id, pending);
  send(to_compact_json(
      object{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}));

  if (timeout.count() > 0)
    pending->timer.expires_after(timeout);
  else
    pending->timer.expires_at(asio::steady_timer::time_point::max());
  boost::system::error_code ec;
  co_await pending->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));

  if (!pending->outcome) {
    pending_.erase(id);  // a late response is dropped as unknown
    if (!ec) throw LinkClosedError("timeout after " + describe(timeout));
    // The awaiting coroutine itself was cancelled.
    throw boost::system::system_error(asio::error::operation_aborted);
  }
  auto& outcome = *pending->outcome;
  if (auto* error = std::get_if<LinkCallError>(&outcome)) throw *error;
  if (auto* error = std::get_if<LinkClosedError>(&outcome)) throw *error;
  co_return std::move(std::get<value>(outcome));
}

void RpcLink::close() { shut("link to " + path_ + " closed"); }

void RpcLink::send(std::string frame) {
  if (closed_) return;
  frame.push_back('\n');
  outbox_.push_back(std::move(frame));
  write_signal_.cancel();
}

asio::awaitable<void> RpcLink::read_loop() {
  auto self = shared_from_this();
  std::string buffer;
  while (!closed_) {
    boost::system::error_code ec;
    // Room for a full line and its newline; a longer one cannot be a frame.
    std::size_t n =
        co_await asio::async_read_until(socket_, asio::dynamic_buffer(buffer, kMaxLine + 1), '\n',
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    if (ec == asio::error::not_found) {
      shut("read " + path_ + ": line exceeds " + std::to_string(kMaxLine) + " bytes");
      break;
    }
    if (ec) {
      shut(ec == asio::error::eof ? "connection to " + path_ + " closed by peer"
                                  : "read " + path_ + ": " + ec.message());
      break;
    }
    std::string_view line(buffer.data(), n - 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) dispatch(line);
    buffer.erase(0, n);
  }
}

void RpcLink::dispatch(std::string_view line) {
  boost::json::parse_options options;
  options.max_depth = kMaxDepth;
  boost::system::error_code ec;
  value frame = boost::json::parse(line, ec, {}, options);
  if (ec || !frame.is_object()) {
    // A peer that breaks framing can no longer be trusted to answer calls.
    shut("read " + path_ + ": malformed frame" + (ec ? ": " + ec.message() : std::string()));
    return;
  }
  object& msg = frame.as_object();
  const value* id = msg.if_contains("id");
  const value* method = msg.if_contains("method");
  if (method != nullptr) {
    // Server→client notification; requests from the server are not expected.
    if ((id == nullptr || id->is_null()) && method->is_string() && method->as_string() == "event") {
      value* params = msg.if_contains("params");
      if (params != nullptr && params->is_object() && on_event_) {
        // A copy, so the handler may replace itself (or close the link).
        auto handler = on_event_;
        try {
          handler(std::move(params->as_object()));
        } catch (const std::exception& e) {
          shut("event handler for " + path_ + ": " + e.what());
        }
      }
    }
    return;
  }
  if (id == nullptr || !id->is_int64()) return;
  auto it = pending_.find(id->as_int64());
  if (it == pending_.end()) return;  // answer to a call that timed out
  auto pending = std::move(it->second);
  pending_.erase(it);
  if (const value* error = msg.if_contains("error"); error != nullptr && !error->is_null()) {
    int code = 0;
    std::string message;
    value data;
    if (error->is_object()) {
      const object& e = error->as_object();
      if (const value* c = e.if_contains("code"); c != nullptr && c->is_int64())
        code = static_cast<int>(c->as_int64());
      if (const value* m = e.if_contains("message"); m != nullptr && m->is_string())
        message = std::string(m->as_string());
      if (const value* d = e.if_contains("data")) data = *d;
    }
    pending->outcome.emplace(LinkCallError(code, std::move(message), std::move(data)));
  } else {
    value* result = msg.if_contains("result");
    pending->outcome.emplace(result != nullptr ? std::move(*result) : value());
  }
  pending->timer.cancel();
}

asio::awaitable<void> RpcLink::write_loop() {
  auto self = shared_from_this();
  std::string batch;
  while (!closed_) {
    if (outbox_.empty()) {
      write_signal_.expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await write_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // Whole frames only, in queue order; several may go in one write.
    batch.clear();
    while (!outbox_.empty()) {
      batch += outbox_.front();
      outbox_.pop_front();
    }
    boost::system::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(batch),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    if (ec) {
      shut("write " + path_ + ": " + ec.message());
      break;
    }
  }
}

void RpcLink::shut(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = why;
  boost::system::error_code ignored;
  socket_.close(ignored);
  write_signal_.cancel();
  outbox_.clear();
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : pending) {
    p->outcome.emplace(LinkClosedError(why));
    p->timer.cancel();
  }
  on_event_ = nullptr;
  // Reported from the loop, not from inside whoever called close(), so the
  // handler may freely tear down the link's owner.
  auto self = shared_from_this();
  asio::post(socket_.get_executor(), [self]() {
    self->closed_notified_ = true;
    auto handler = std::move(self->on_closed_);
    self->on_closed_ = nullptr;
    if (handler) handler();
  });
}

}  // namespace avenor::host
