#include "events/event_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <avenor/sdk/json_text.hpp>
#include <cerrno>
#include <system_error>

#include "util/atomic_file.hpp"
#include "util/json_text.hpp"
#include "util/unix_time.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;

// fsync on a pipe, socket or character device (--on-event /dev/stdout) fails
// with EINVAL; such streams have nothing to flush to disk.
bool fsync_ok(int fd) {
  if (::fsync(fd) == 0) return true;
  return errno == EINVAL || errno == EROFS;
}

bool is_session_end(const bj::object& o) {
  const bj::value* type = o.if_contains("event");
  return type != nullptr && type->is_string() && type->get_string() == "session.end";
}

}  // namespace

EventWriter EventWriter::open(const std::filesystem::path& path) {
  if (path.empty()) return EventWriter({}, UniqueFd(), true);
  // O_NONBLOCK so a FIFO nobody reads fails (ENXIO) instead of blocking the
  // run before it starts; writes then block again, as on any log.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0666));
  if (!fd && errno == ENXIO)
    throw std::system_error(ENXIO, std::generic_category(),
                            "open " + path.string() + " (a FIFO without a reader)");
  if (!fd) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "open " + path.string());
  return EventWriter(path, std::move(fd), false);
}

EventWriter::~EventWriter() {
  if (!fd_) return;
  try {
    flush();
  } catch (const std::exception&) {  // nobody to tell; close() reports
  }
  ::fsync(fd_.get());
}

void EventWriter::set_run_id(std::string run_id) {
  run_id_ = std::move(run_id);
  rebuild_envelope_tail();
}
void EventWriter::set_run_label(std::string label) {
  run_label_ = std::move(label);
  rebuild_envelope_tail();
}
void EventWriter::set_runtime_id(std::string runtime_id) {
  runtime_id_ = std::move(runtime_id);
  rebuild_envelope_tail();
}

void EventWriter::rebuild_envelope_tail() {
  envelope_tail_.clear();
  auto put = [this](std::string_view key, const std::string& value) {
    if (value.empty()) return;
    envelope_tail_ += ',';
    sdk::json_text::append_string(envelope_tail_, key);
    envelope_tail_ += ':';
    sdk::json_text::append_string(envelope_tail_, value);
  };
  put("run_id", run_id_);
  put("run_label", run_label_);
  put("runtime_id", runtime_id_);
}

bj::object EventWriter::stamp(bj::object out) {
  // The envelope is the host's (issue 15): an event's own ts/seq/run_id/...
  // (a backend's, a control client's) are dropped, so a hostile seq can
  // neither overflow the counter nor disorder what readers see.
  for (std::string_view key : {"ts", "seq", "run_id", "run_label", "runtime_id"})
    out.stable_erase(key);  // the event's own keys keep their order
  out["ts"] = unix_ms_now();
  out["seq"] = ++seq_;
  if (!run_id_.empty()) out["run_id"] = run_id_;
  if (!run_label_.empty()) out["run_label"] = run_label_;
  if (!runtime_id_.empty()) out["runtime_id"] = runtime_id_;
  if (const bj::value* sid = out.if_contains("session_id");
      sid != nullptr && sid->is_string() && sid->get_string().empty()) {
    out.erase("session_id");
  }
  return out;
}

bj::object EventWriter::write(bj::object event) {
  bj::object stamped = stamp(std::move(event));
  if (discard_) {
    scratch_.clear();
    append_compact_json(scratch_, stamped);  // encoded like a real line, then dropped
    return stamped;
  }
  if (!fd_) throw std::system_error(EBADF, std::generic_category(), "write event log (closed)");
  append_compact_json(pending_, stamped);
  pending_ += '\n';
  flush();
  if (is_session_end(stamped)) sync();
  return stamped;
}

std::string_view EventWriter::append(std::string_view body, std::string_view type) {
  if (!discard_ && !fd_)
    throw std::system_error(EBADF, std::generic_category(), "write event log (closed)");
  std::string& out = discard_ ? scratch_ : pending_;
  if (discard_) out.clear();
  const std::string_view ts = batch_ts(out.empty());
  const std::size_t start = out.size();
  // {...} + ,"ts":T,"seq":S + the constant run_id/run_label/runtime_id part.
  out.append(body.data(), body.size() - 1);
  if (body.size() > 2) out += ',';
  out += "\"ts\":";
  out += ts;
  out += ",\"seq\":";
  sdk::json_text::append_int(out, ++seq_);
  out += envelope_tail_;
  out += '}';
  const std::size_t size = out.size() - start;
  if (discard_) return out;
  out += '\n';  // (may move the buffer: the view is taken after it)
  const std::string_view line = std::string_view(out).substr(start, size);
  if (type != "session.end") return line;
  scratch_.assign(line);  // the flush below empties pending_
  sync();
  return scratch_;
}

// The clock is read once per batch of lines (and every kTsReuse lines within
// one), not per line: a burst is written within a fraction of a millisecond,
// so its lines share a ts that is at most that fraction old. The first line of
// a batch always reads the clock, after any object stamp() read it, so ts never
// goes backwards in the log.
std::string_view EventWriter::batch_ts(bool batch_start) {
  if (batch_start || ++ts_uses_ >= kTsReuse) {
    ts_text_.clear();
    sdk::json_text::append_int(ts_text_, unix_ms_now());
    ts_uses_ = 0;
  }
  return ts_text_;
}

void EventWriter::flush() {
  if (pending_.empty()) return;
  if (!fd_) {
    pending_.clear();
    throw std::system_error(EBADF, std::generic_category(), "write event log (closed)");
  }
  // One write(2) for whole lines, so concurrent readers never see a torn
  // line; the loop inside only continues a partial write.
  struct Clear {  // a failed write loses the batch, as a failed line always was lost
    std::string& s;
    ~Clear() { s.clear(); }
  } clear{pending_};
  write_all(fd_.get(), pending_, write_context_);
}

void EventWriter::sync() {
  if (!fd_) return;
  flush();
  if (!fsync_ok(fd_.get()))
    throw std::system_error(errno, std::generic_category(), "sync event log " + path_.string());
}

void EventWriter::close() {
  if (!fd_) return;
  sync();
  if (::close(fd_.release()) != 0)
    throw std::system_error(errno, std::generic_category(), "close event log " + path_.string());
}

}  // namespace avenor::host
