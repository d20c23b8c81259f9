// The run's control state, shared by every control surface (the Unix-socket
// server and the HTTP debug adapter): live event fan-out, history, the
// status snapshot, the identity token, connected-client accounting for
// permission claims, and the commands clients give the run.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "control/event_history.hpp"
#include "control/event_hub.hpp"
#include "control/run_commands.hpp"
#include "control/status_snapshot.hpp"

namespace avenor::host {

class ControlPlane {
 public:
  // Writes an event through the run's pipeline (stamp, log, publish) and
  // returns its seq; throws on a log write failure.
  using Publisher = std::function<std::int64_t(boost::json::object)>;

  ControlPlane(boost::asio::any_io_executor ex, std::string run_id, std::string run_label,
               std::string identity_token);

  // --- run side ---
  void attach(RunCommands* run) { run_ = run; }
  void set_publisher(Publisher publisher) { publisher_ = std::move(publisher); }
  // Called once per stamped event after it reached the log.
  void publish(const boost::json::object& stamped);
  // The serialised fast path (EventPipeline) in two steps. At write time the
  // snapshot sees the event by its fields (a type that
  // !StatusSnapshot::reads_fields); share() makes the subscribers' copy from
  // the stamped line only when someone can receive it (null otherwise), and
  // publish_shared() hands that copy out once its line reached the log.
  void observe(std::string_view type, std::string_view session_id, std::int64_t seq) {
    snapshot_.observe(type, session_id, seq);
  }
  SharedEvent share(std::string_view stamped_line, std::string_view runtime_id) const;
  void publish_shared(const SharedEvent& event);
  StatusSnapshot& snapshot() { return snapshot_; }
  // Socket clients connected now (HTTP requests do not count).
  std::size_t clients() const { return clients_; }
  // Whether any socket client has made a request yet: a client that only
  // connected (a readiness probe) has not linked.
  bool ever_linked() const { return ever_linked_; }
  // Runs when the last socket client disconnects (claims fall through).
  void on_all_clients_gone(std::function<void()> handler) { all_gone_ = std::move(handler); }

  // --- control surface side ---
  void client_connected() { ++clients_; }
  void client_requested() { ever_linked_ = true; }
  void client_disconnected();
  EventHub& hub() { return hub_; }
  const EventHistory& history() const { return history_; }
  const std::string& identity_token() const { return identity_token_; }
  boost::json::object status() const { return snapshot_.to_json(); }
  const std::string& final_output() const { return snapshot_.final_output(); }

  void cancel();
  void prompt(std::string text);
  void interrupt_and_prompt(std::string text, bool keep_queue);
  AnswerStatus answer_permission(const std::string& request_id, const std::string& option_id,
                                 const std::optional<std::string>& message);
  void release_claim(const std::string& request_id);
  // publish_event (control.md §6): the object must carry a string `event`.
  std::int64_t publish_event(boost::json::object event);

 private:
  EventHub hub_;
  EventHistory history_;
  StatusSnapshot snapshot_;
  std::string identity_token_;
  RunCommands* run_ = nullptr;
  Publisher publisher_;
  std::size_t clients_ = 0;
  bool ever_linked_ = false;
  std::function<void()> all_gone_;
};

}  // namespace avenor::host
