#include "events/event_pipeline.hpp"

#include <boost/asio/post.hpp>

#include "control/event_history.hpp"
#include "util/diagnostics.hpp"

namespace avenor::host {

EventPipeline::~EventPipeline() {
  *self_ = nullptr;  // a flush still posted finds nobody
  try {
    flush();
  } catch (const std::exception& e) {
    diagnostics::warn(std::string("event log: ") + e.what());
  }
}

void EventPipeline::rethrow_failure() const {
  if (failure_) std::rethrow_exception(failure_);
}

std::int64_t EventPipeline::write(boost::json::object event) {
  rethrow_failure();
  boost::json::object stamped;
  try {
    stamped = writer_.write(std::move(event));  // also writes the buffered lines, same write(2)
  } catch (...) {
    unpublished_.clear();
    throw;
  }
  publish_batch();
  if (control_) control_->publish(stamped);
  return event_seq(stamped);
}

std::int64_t EventPipeline::write(BackendEvent& event) {
  if (!event.serialized() || (control_ && StatusSnapshot::reads_fields(event.type())))
    return write(event.take_object());
  rethrow_failure();
  std::string_view line;
  try {
    line = writer_.append(event.body(), event.type());
  } catch (...) {
    unpublished_.clear();
    throw;
  }
  const std::int64_t seq = writer_.last_seq();
  if (control_) {
    control_->observe(event.type(), event.session_id(), seq);
    if (SharedEvent shared = control_->share(line, writer_.runtime_id()))
      unpublished_.push_back(std::move(shared));
  }
  if (writer_.buffered() == 0) {
    publish_batch();  // a session.end is written at once
  } else if (!executor_ || writer_.buffered() >= kBatchBytes) {
    flush();
  } else {
    schedule_flush();
  }
  return seq;
}

void EventPipeline::flush() {
  rethrow_failure();
  try {
    writer_.flush();
  } catch (...) {
    unpublished_.clear();
    throw;
  }
  publish_batch();
}

void EventPipeline::publish_batch() {
  if (unpublished_.empty()) return;
  std::vector<SharedEvent> batch = std::move(unpublished_);
  unpublished_.clear();
  for (const SharedEvent& e : batch) control_->publish_shared(e);
}

// The batch is written as soon as the loop turns to other work: the run
// handles a burst of ready events without yielding, so the flush collects
// that burst, and nothing waits in the buffer once the loop is idle.
void EventPipeline::schedule_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(*executor_, [self = self_] {
    EventPipeline* p = *self;
    if (p == nullptr) return;
    p->flush_posted_ = false;
    if (p->failure_) return;
    if (p->busy_ && p->busy_() && ++p->deferrals_ <= kMaxDeferrals) {
      p->schedule_flush();  // more is queued: let it join this batch
      return;
    }
    p->deferrals_ = 0;
    try {
      p->flush();
    } catch (...) {
      // Nobody is on the stack to tell: the next write reports it.
      p->failure_ = std::current_exception();
    }
  });
}

}  // namespace avenor::host
