#include "event_stream.hpp"

#include <utility>

namespace avenor::opencode_http {

namespace {

// The stream's request only waits this long for the response head.
constexpr std::chrono::milliseconds kHeadTimeout{10000};

}  // namespace

void EventStream::start() {
  if (started_ || stopped_) return;
  started_ = true;
  open();
}

void EventStream::stop() {
  stopped_ = true;
  connected_ = false;
  host_.cancel_timer(timers_.reconnect);
  if (call_) client_.cancel(*std::exchange(call_, std::nullopt));
  run_waiters();
}

void EventStream::open() {
  sdk::HttpRequest request = client_.request("GET", "/event");
  request.headers["accept"] = "text/event-stream";
  request.timeout = kHeadTimeout;
  parser_.reset();
  call_ = host_.services().http_stream(
      request, [this](std::string_view bytes) { on_data(bytes); },
      [this](sdk::Outcome<sdk::HttpResponse> end) { on_end(end); });
}

void EventStream::on_data(std::string_view bytes) {
  if (stopped_) return;
  if (!connected_) {
    connected_ = true;
    ++connections_;
    backoff_.reset();
    host_.log(sdk::LogLevel::debug, "event stream connected to " + client_.address().base());
  }
  for (const sdk::SseEvent& event : parser_.feed(bytes)) {
    if (stopped_) return;
    on_event_(event);
  }
  if (parser_.dropped_lines() != dropped_reported_) {
    dropped_reported_ = parser_.dropped_lines();
    host_.log(sdk::LogLevel::warn,
              "event stream: dropped an SSE line or event over its size limit");
  }
  run_waiters();
}

void EventStream::on_end(const sdk::Outcome<sdk::HttpResponse>& end) {
  call_.reset();
  connected_ = false;
  if (stopped_) return;
  auto delay = backoff_.next();
  std::string why = end.ok() ? std::string("the server closed it") : end.error;
  host_.log(sdk::LogLevel::warn, "event stream " + client_.address().base() + "/event ended (" +
                                     why + "); reconnecting in " + std::to_string(delay.count()) +
                                     " ms");
  host_.set_timer(timers_.reconnect, delay);
}

void EventStream::when_connected(std::function<void()> fn, std::chrono::milliseconds limit) {
  if (connected_ || stopped_) return fn();
  if (waiters_.empty()) host_.set_timer(timers_.wait_limit, limit);
  waiters_.push_back(std::move(fn));
}

void EventStream::run_waiters() {
  if (waiters_.empty()) return;
  host_.cancel_timer(timers_.wait_limit);
  for (auto& fn : std::exchange(waiters_, {})) fn();
}

bool EventStream::on_timer(std::uint64_t id) {
  if (id == timers_.reconnect) {
    if (!stopped_ && !call_) open();
    return true;
  }
  if (id == timers_.wait_limit) {
    if (!waiters_.empty())
      host_.log(sdk::LogLevel::warn, "event stream not connected yet; sending the prompt anyway");
    for (auto& fn : std::exchange(waiters_, {})) fn();
    return true;
  }
  return false;
}

}  // namespace avenor::opencode_http
