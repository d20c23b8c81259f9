// The server's global event stream, GET /event (backends.md §2.2, §2.5):
// opened once in the background, parsed as SSE, and reopened whenever it ends
// (100 ms doubling to 1.6 s, forever). Events sent while it is down are lost:
// opencode keeps no replay, so no Last-Event-ID is sent.
#pragma once

#include <avenor/sdk/host.hpp>
#include <avenor/sdk/sse_parser.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "reconnect_backoff.hpp"
#include "server_client.hpp"

namespace avenor::opencode_http {

class EventStream {
 public:
  using EventFn = std::function<void(const sdk::SseEvent&)>;

  struct TimerIds {
    std::uint64_t reconnect;
    std::uint64_t wait_limit;
  };

  EventStream(sdk::Host host, ServerClient& client, TimerIds timers, EventFn on_event)
      : host_(host), client_(client), timers_(timers), on_event_(std::move(on_event)) {}

  // Opens the stream (once; later calls do nothing).
  void start();
  // Stops for good: no more events, no reconnects.
  void stop();

  // True from start() until stop(): connected or about to reconnect.
  bool alive() const { return started_ && !stopped_; }
  // True while a connection is delivering data.
  bool connected() const { return connected_; }
  // How many times the stream has connected so far.
  int connections() const { return connections_; }

  // Runs `fn` once the stream is connected, or after `limit` at the latest,
  // so a prompt is not sent before the stream can report its events.
  void when_connected(std::function<void()> fn, std::chrono::milliseconds limit);

  // True when `id` was one of this stream's timers.
  bool on_timer(std::uint64_t id);

 private:
  void open();
  void on_data(std::string_view bytes);
  void on_end(const sdk::Outcome<sdk::HttpResponse>& end);
  void run_waiters();

  sdk::Host host_;
  ServerClient& client_;
  TimerIds timers_;
  EventFn on_event_;

  sdk::SseParser parser_;
  ReconnectBackoff backoff_;
  std::optional<sdk::CallId> call_;
  bool started_ = false;
  bool stopped_ = false;
  bool connected_ = false;
  int connections_ = 0;
  std::vector<std::function<void()>> waiters_;
  std::size_t dropped_reported_ = 0;
};

}  // namespace avenor::opencode_http
