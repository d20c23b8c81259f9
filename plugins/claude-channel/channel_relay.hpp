// The per-session channel relay (backends.md §7.2): the routes the sidecar
// (`avenor claude-channel`) calls and the control queue it long-polls. Pure
// logic: the backend owns the loopback listener (host http.listen service),
// hands each request to handle() and sends the reply it gets back; held polls
// are answered by the backend when a message is queued or after 2 s.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace avenor::claude_channel {

struct RelayRequest {
  std::string method;         // "GET", "POST"
  std::string path;           // "/report"
  std::string body;           // JSON text
  std::string authorization;  // the Authorization header, if any
};

struct RelayOutcome {
  enum class Kind {
    reply,      // answer now with status + body
    hold_poll,  // a /poll-control with nothing queued: answer later
    health,     // /health: the backend answers from the terminal's liveness
  };
  Kind kind = Kind::reply;
  int status = 200;
  boost::json::value body = boost::json::object{};
  std::vector<boost::json::object> events;         // to emit, in order
  std::optional<boost::json::object> session_end;  // a finish: ends the turn (once)
};

class ChannelRelay {
 public:
  struct Identity {
    std::string run_id;       // the relay run (a UUID)
    std::string token;        // the sidecar's per-run token
    std::string push_token;   // bearer token of /push-control
    std::string server_name;  // avenor-channel-<8>
    std::string session_id;   // stamped on every event
  };
  using Clock = std::function<std::string()>;  // ISO-8601 UTC now
  using NewId = std::function<std::string()>;  // control message ids

  ChannelRelay(Identity identity, Clock now, NewId new_id);

  RelayOutcome handle(const RelayRequest& request);

  // Queues a control message {id, type, run_id, payload, created_at} and
  // returns its id. A permission_decision is also remembered for /permission.
  std::string push(std::string_view type, boost::json::value payload,
                   std::string_view from_run_id = {});
  bool has_queued() const { return !queue_.empty(); }
  // The queued messages (oldest first), removing them.
  boost::json::array take_queued();

  // The run was deleted (teardown): sidecar routes answer 410 from now on.
  void delete_run() { deleted_ = true; }
  bool registered() const { return registered_; }
  const Identity& identity() const { return id_; }

 private:
  RelayOutcome push_control(const RelayRequest& request);
  RelayOutcome sidecar_route(const std::string& path, const boost::json::object& body);
  RelayOutcome report(const boost::json::object& body);
  RelayOutcome finish(const boost::json::object& body);
  boost::json::object event(std::string_view name) const;

  Identity id_;
  Clock now_;
  NewId new_id_;
  std::vector<boost::json::object> queue_;
  std::map<std::string, std::string> decisions_;  // request_id → allow|deny
  bool registered_ = false;
  bool deleted_ = false;
};

// The session.end of a finish status: done → end_turn, failed → error,
// blocked → cancelled, anything else → end_turn.
std::string stop_reason_for_finish(std::string_view status);

}  // namespace avenor::claude_channel
