#include "control/control_connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "control/event_history.hpp"
#include "util/json_text.hpp"
#include "util/unix_time.hpp"

namespace avenor::host {

namespace asio = boost::asio;

namespace {

// Frames queued beyond this make pumps and the request reader wait, so a
// client that does not read cannot grow memory without bound.
constexpr std::size_t kHighWater = 64;

}  // namespace

ControlConnection::ControlConnection(asio::local::stream_protocol::socket socket, std::uint64_t id,
                                     RequestHandler handler,
                                     std::function<void(ControlConnection&)> on_closed)
    : socket_(std::move(socket)),
      id_(id),
      handler_(std::move(handler)),
      on_closed_(std::move(on_closed)),
      writer_wakeup_(socket_.get_executor()),
      room_wakeup_(socket_.get_executor()),
      grace_timer_(socket_.get_executor()) {}

void ControlConnection::start() {
  auto self = shared_from_this();
  asio::co_spawn(
      socket_.get_executor(), [self]() { return self->read_loop(); }, asio::detached);
  asio::co_spawn(
      socket_.get_executor(), [self]() { return self->write_loop(); }, asio::detached);
}

void ControlConnection::send(std::string frame) {
  if (closed_) return;
  frame.push_back('\n');
  outbound_.push_back(std::move(frame));
  writer_wakeup_.cancel();
}

void ControlConnection::send_event(const boost::json::object& event) {
  std::string frame = R"({"jsonrpc":"2.0","method":"event","params":)";
  append_compact_json(frame, event);
  frame.push_back('}');
  send(std::move(frame));
}

bool ControlConnection::admit(Pump& p, const boost::json::object& event) {
  auto& last = p.last_seq[std::string(event_runtime_id(event))];
  const std::int64_t seq = event_seq(event);
  if (seq != 0 && seq <= last) return false;
  last = std::max(last, seq);
  return true;
}

void ControlConnection::add_subscription(std::shared_ptr<EventSubscription> sub,
                                         std::vector<SharedEvent> replay,
                                         std::map<std::string, std::int64_t, std::less<>> after) {
  auto p = std::make_shared<Pump>(Pump{std::move(sub), std::move(after)});
  for (const auto& e : replay)
    if (admit(*p, *e)) send_event(*e);
  pumps_.push_back(p);
  auto self = shared_from_this();
  asio::co_spawn(
      socket_.get_executor(), [self, p]() { return self->pump(p); }, asio::detached);
}

void ControlConnection::forward_next(Pump& p) {
  // Dropped events are owed a notice before the next delivered one.
  if (std::size_t dropped = p.sub->take_dropped())
    send_event(boost::json::object{
        {"event", "subscriber.lagged"}, {"dropped_count", dropped}, {"ts", unix_ms_now()}});
  if (p.sub->empty()) return;
  SharedEvent e = p.sub->pop();
  if (admit(p, *e)) send_event(*e);
}

asio::awaitable<void> ControlConnection::wait_for_room() {
  while (outbound_.size() >= kHighWater && !closed_ && !stopping_) {
    room_wakeup_.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await room_wakeup_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> ControlConnection::pump(std::shared_ptr<Pump> p) {
  auto self = shared_from_this();
  while (!closed_ && !stopping_) {
    co_await p->sub->wait();
    if (closed_ || stopping_ || p->sub->closed()) break;
    co_await wait_for_room();
    if (closed_ || stopping_) break;
    forward_next(*p);
  }
}

asio::awaitable<void> ControlConnection::read_loop() {
  auto self = shared_from_this();
  std::string buffer;
  for (;;) {
    boost::system::error_code ec;
    // Room for a 4 MiB line plus its newline; a longer line ends the
    // connection without an error frame (control.md §2).
    std::size_t n =
        co_await asio::async_read_until(socket_, asio::dynamic_buffer(buffer, kMaxLine + 1), '\n',
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closed_ || stopping_) break;
    std::string line = buffer.substr(0, n - 1);
    buffer.erase(0, n);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    co_await wait_for_room();
    if (closed_ || stopping_) break;
    co_await handler_(*this, line);
  }
  if (!stopping_) close();
}

asio::awaitable<void> ControlConnection::write_loop() {
  auto self = shared_from_this();
  std::string batch;
  while (!closed_) {
    if (outbound_.empty()) {
      if (stopping_) break;
      writer_wakeup_.expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await writer_wakeup_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // Everything queued goes out in one write; frames stay whole.
    batch.clear();
    while (!outbound_.empty()) {
      batch += outbound_.front();
      outbound_.pop_front();
    }
    room_wakeup_.cancel();
    boost::system::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(batch),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;  // closed for writing after a write error (control.md §2)
  }
  close();
}

void ControlConnection::stop(std::chrono::milliseconds grace) {
  if (closed_ || stopping_) return;
  stopping_ = true;
  // Whatever the subscriptions hold is flushed, then the writer closes.
  for (auto& p : pumps_) {
    while (!p->sub->empty()) forward_next(*p);
    p->sub->close();
  }
  boost::system::error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_receive, ec);
  writer_wakeup_.cancel();
  room_wakeup_.cancel();
  auto self = shared_from_this();
  grace_timer_.expires_after(grace);
  grace_timer_.async_wait([self](boost::system::error_code e) {
    if (!e) self->close();
  });
}

void ControlConnection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
  writer_wakeup_.cancel();
  room_wakeup_.cancel();
  grace_timer_.cancel();
  for (auto& p : pumps_) p->sub->close();
  pumps_.clear();
  outbound_.clear();
  if (on_closed_) on_closed_(*this);
}

}  // namespace avenor::host
