// One client of a control socket (control.md §2–§3, §8): reads
// newline-delimited JSON-RPC requests (4 MiB line cap) and answers them in
// order; writes every frame whole, one at a time; pumps event subscriptions
// with per-subscription back-pressure (a reader that stops reading loses
// its oldest events and later gets `subscriber.lagged`).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/event_hub.hpp"

namespace avenor::host {

class ControlConnection : public std::enable_shared_from_this<ControlConnection> {
 public:
  static constexpr std::size_t kMaxLine = 4 * 1024 * 1024;

  // Handles one request line, sending the response itself.
  using RequestHandler =
      std::function<boost::asio::awaitable<void>(ControlConnection&, std::string_view line)>;

  ControlConnection(boost::asio::local::stream_protocol::socket socket, std::uint64_t id,
                    RequestHandler handler, std::function<void(ControlConnection&)> on_closed);

  void start();
  // Stops reading; queued events and frames get up to `grace` to be written,
  // then the socket closes.
  void stop(std::chrono::milliseconds grace);

  std::uint64_t id() const { return id_; }

  // Queues one outbound frame (a JSON text without the newline).
  void send(std::string frame);

  // Adds a subscription: `replay` is written now (after whatever is queued,
  // i.e. after the `subscribed` response), then live events with a seq above
  // the last delivered one of their runtime key. `after` holds the starting
  // seq per runtime key ("" for events without runtime_id).
  void add_subscription(std::shared_ptr<EventSubscription> sub, std::vector<SharedEvent> replay,
                        std::map<std::string, std::int64_t, std::less<>> after);
  // Subscriptions added so far (they end only with the connection).
  std::size_t subscription_count() const { return pumps_.size(); }

 private:
  struct Pump {
    std::shared_ptr<EventSubscription> sub;
    std::map<std::string, std::int64_t, std::less<>> last_seq;
  };

  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  boost::asio::awaitable<void> pump(std::shared_ptr<Pump> p);
  boost::asio::awaitable<void> wait_for_room();
  // True when the event passes the pump's seq filter (and records it).
  static bool admit(Pump& p, const boost::json::object& event);
  // Sends the lag notice the pump owes, if any, then its next queued event.
  void forward_next(Pump& p);
  void send_event(const boost::json::object& event);
  void close();

  boost::asio::local::stream_protocol::socket socket_;
  std::uint64_t id_;
  RequestHandler handler_;
  std::function<void(ControlConnection&)> on_closed_;
  std::deque<std::string> outbound_;
  boost::asio::steady_timer writer_wakeup_;
  boost::asio::steady_timer room_wakeup_;
  boost::asio::steady_timer grace_timer_;
  std::vector<std::shared_ptr<Pump>> pumps_;
  bool stopping_ = false;
  bool closed_ = false;
};

}  // namespace avenor::host
