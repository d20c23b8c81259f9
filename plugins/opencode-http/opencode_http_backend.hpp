// opencode-http (backends.md §2): a client of `opencode serve` over HTTP and
// its SSE event stream, through the host's services. With a server URL it
// starts no process; without one it launches its own `opencode serve` in
// --dir (the managed server) and learns the URL from the line the server
// prints on stdout. Either way the server is health-checked before first use.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <avenor/sdk/sse_parser.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "event_mapper.hpp"
#include "event_stream.hpp"
#include "listening_line.hpp"
#include "server_client.hpp"
#include "turn_gate.hpp"

namespace avenor::opencode_http {

struct Limits {
  std::chrono::milliseconds health{30000};        // §2.1: health on first use
  std::chrono::milliseconds server_start{60000};  // managed: the URL line
  std::chrono::milliseconds stream_wait{10000};   // a prompt waits for the stream
  std::chrono::milliseconds settle{2000};         // response vs idle (TurnGate)
};

// The command line of the managed server (cwd = the run's --dir).
std::vector<std::string> managed_server_argv();

class OpencodeHttpBackend : public sdk::Backend {
 public:
  // Throws std::invalid_argument for a bad URL or a --dir given with a URL.
  OpencodeHttpBackend(sdk::Host host, sdk::StartOptions options, Limits limits = {});
  ~OpencodeHttpBackend() override;

  sdk::LaunchSpec launch() override;
  void on_bytes(std::string_view bytes) override;
  void on_closed(std::string_view reason) override;
  void on_timer(std::uint64_t timer_id) override;

  void start_session(sdk::Operation op, std::optional<std::string> resume_session_id) override;
  void prompt(sdk::Operation op, const std::string& session_id, const std::string& text) override;
  void cancel(sdk::Operation op, const std::string& session_id) override;
  void answer_permission(sdk::Operation op, const sdk::PermissionAnswer& answer) override;

  bool managed() const { return managed_; }

 private:
  enum class Readiness { not_started, waiting_for_server, checking_health, ready, failed };
  using ReadyFn = std::function<void(const std::optional<std::string>& error)>;

  struct Session {
    TurnGate gate;
    std::optional<sdk::Operation> prompt_op;
    bool waiting_for_stream = false;  // the prompt is not sent yet
    std::uint64_t turn = 0;           // numbers the prompts, so a stale wait sends nothing
    std::uint64_t settle_timer = 0;
  };
  struct Pending {
    std::string session_id;
    boost::json::array options;
  };

  // --- readiness: the server's URL and its health -------------------------
  void when_ready(ReadyFn next);
  void check_health();
  void health_failed(const std::string& error, bool retry);
  void finish_readiness(std::optional<std::string> error);

  // --- sessions and turns -------------------------------------------------
  void new_session(const sdk::Operation& op);
  void resume_session(const sdk::Operation& op, const std::string& session_id);
  Session& add_session(const std::string& session_id);
  void send_prompt(const std::string& session_id, std::uint64_t turn, const std::string& text);
  void on_prompt_reply(const std::string& session_id, ServerReply reply);
  void apply(const std::string& session_id, TurnGate::Step step);
  void end_turn(const std::string& session_id);

  // --- the event stream -----------------------------------------------------
  void on_stream_event(const sdk::SseEvent& event);

  // --- permissions ----------------------------------------------------------
  void send_fallback_reply(const sdk::Operation& op, const std::string& session_id,
                           const std::string& request_id, const std::string& reply,
                           const std::string& primary_error);
  void forget_permissions_of(const std::string& session_id);

  Limits limits_;
  bool managed_;
  std::string dir_;  // absolute; the managed server's cwd
  ServerClient client_;
  EventStream stream_;
  EventMapper mapper_;
  ListeningLineScanner listening_;

  Readiness readiness_ = Readiness::not_started;
  std::string readiness_error_;
  std::string last_health_error_;
  std::chrono::milliseconds health_retry_delay_{0};
  std::optional<sdk::CallId> health_call_;
  std::vector<ReadyFn> ready_waiters_;

  std::map<std::string, Session, std::less<>> sessions_;
  std::map<std::string, Pending, std::less<>> permissions_;  // by request id
  std::uint64_t next_timer_ = 0;
  std::optional<std::string> closed_;  // why the backend is gone
};

}  // namespace avenor::opencode_http
