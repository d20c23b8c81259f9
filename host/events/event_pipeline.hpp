// emitter → writer (stamp, log) → control subscribers (events.md §2). Every
// event of a run, whether from the backend, the run loop or a control
// client's publish_event, goes through here so all see the same seq order.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>

#include "control/control_plane.hpp"
#include "events/event_writer.hpp"

namespace avenor::host {

class EventPipeline {
 public:
  explicit EventPipeline(EventWriter& writer, ControlPlane* control = nullptr)
      : writer_(writer), control_(control) {}

  // Stamps, logs and publishes; returns the seq. Throws std::system_error
  // when the log write fails (the event is then not published).
  std::int64_t write(boost::json::object event) {
    boost::json::object stamped = writer_.write(std::move(event));
    if (control_) control_->publish(stamped);
    return event_seq(stamped);
  }

  EventWriter& writer() { return writer_; }
  ControlPlane* control() { return control_; }

 private:
  EventWriter& writer_;
  ControlPlane* control_;
};

}  // namespace avenor::host
