// emitter → writer (stamp, log) → control subscribers (events.md §2). Every
// event of a run, whether from the backend, the run loop or a control
// client's publish_event, goes through here so all see the same seq order.
//
// Two paths. An object (the host's own events, and backend events the host
// looks into) is stamped, logged together with everything buffered in one
// write(2) and published before write() returns. A backend event still in
// its serialised form (ABI 1.2) gets the envelope spliced onto its bytes and
// waits in the writer's buffer; the buffer is written as one batch of whole
// lines as soon as the event loop turns to other work (a posted flush), when
// it passes kBatchBytes, or before the next object is written. Subscribers
// receive a batch's events only after its write succeeded, so as before an
// event that did not reach the log is never published.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "control/control_plane.hpp"
#include "events/backend_event.hpp"
#include "events/event_writer.hpp"

namespace avenor::host {

class EventPipeline {
 public:
  // Buffered lines are written once they reach this size.
  static constexpr std::size_t kBatchBytes = 64 * 1024;
  static constexpr int kMaxDeferrals = 8;

  explicit EventPipeline(EventWriter& writer, ControlPlane* control = nullptr)
      : writer_(writer), control_(control) {}
  ~EventPipeline();
  EventPipeline(const EventPipeline&) = delete;
  EventPipeline& operator=(const EventPipeline&) = delete;

  // Where the flush of buffered lines is posted. Without one, serialised
  // events are written at once like objects (no batching).
  void set_executor(boost::asio::any_io_executor ex) { executor_ = std::move(ex); }
  // Whether more events are already queued for the run (its mailbox): a
  // posted flush then waits for them, up to kMaxDeferrals times, so a burst
  // becomes a few large writes instead of one per loop turn.
  void set_busy_check(std::function<bool()> busy) { busy_ = std::move(busy); }

  // Stamps, logs and publishes; returns the seq. Throws std::system_error
  // when the log write fails (the event is then not published).
  std::int64_t write(boost::json::object event);
  // A backend event: the serialised path when the event is still bytes (and
  // the snapshot needs nothing more than its fields), else write(object).
  // Throws like write() for a failure of this write or of an earlier batch.
  std::int64_t write(BackendEvent& event);
  // Writes the buffered lines and publishes their events. Throws like write().
  void flush();

  EventWriter& writer() { return writer_; }
  ControlPlane* control() { return control_; }

 private:
  void schedule_flush();
  void rethrow_failure() const;
  void publish_batch();

  EventWriter& writer_;
  ControlPlane* control_;
  std::optional<boost::asio::any_io_executor> executor_;
  std::function<bool()> busy_;
  bool flush_posted_ = false;
  int deferrals_ = 0;                     // posted flushes put off in a row
  std::vector<SharedEvent> unpublished_;  // the buffered lines' events, for subscribers
  std::exception_ptr failure_;            // a posted flush failed: so does every later write
  std::shared_ptr<EventPipeline*> self_ = std::make_shared<EventPipeline*>(this);
};

}  // namespace avenor::host
