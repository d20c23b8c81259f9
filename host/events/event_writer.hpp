// The NDJSON event log (events.md §1, §2): stamps every event with the run
// envelope and appends it as whole lines. The envelope (ts, seq, run_id,
// run_label, runtime_id) is always the writer's own: whatever an event
// carried under those keys is dropped, never trusted.
//
// Lines can be buffered (append) and written later in one write(2) of whole
// lines (flush), so a busy event stream costs one system call per batch, not
// per event; a reader never sees a line cut between two writes.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "util/unique_fd.hpp"

namespace avenor::host {

class EventWriter {
 public:
  // Creates or truncates `path` (mode 0666 less umask; never appends, D8).
  // An empty path gives a discard writer: events are still stamped and
  // encoded, then dropped. Throws std::system_error ("open <path>: <OS msg>").
  static EventWriter open(const std::filesystem::path& path);

  EventWriter(EventWriter&&) noexcept = default;
  EventWriter& operator=(EventWriter&&) noexcept = default;
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;
  // Flushes, fsyncs and closes; errors cannot be reported here (call close()
  // first to see them).
  ~EventWriter();

  void set_run_id(std::string run_id);
  void set_run_label(std::string label);
  void set_runtime_id(std::string runtime_id);

  // Stamps a copy of `event` (ts, seq, run_id, run_label, runtime_id; drops
  // an empty session_id), writes it as compact JSON plus "\n" together with
  // any buffered lines in one write(2) (looping only on partial writes/EINTR),
  // fsyncs after a `session.end`, and returns the stamped copy for
  // publishing. Throws std::system_error on a write/fsync failure.
  boost::json::object write(boost::json::object event);

  // Stamps a copy without writing it; advances seq like write().
  boost::json::object stamp(boost::json::object event);

  // The fast path (ABI 1.2 events): `body` is one compact JSON object
  // without envelope keys, in valid UTF-8 with no control characters (the
  // caller has checked). The envelope is spliced onto its bytes and the line
  // buffered; a `session.end` is written and fsynced at once. Returns the
  // stamped line without its "\n", valid until the next call on the writer.
  std::string_view append(std::string_view body, std::string_view type);

  // Bytes of whole lines waiting for flush().
  std::size_t buffered() const { return pending_.size(); }
  // Writes the buffered lines in one write(2). Throws std::system_error; the
  // lines are dropped either way (a failed log stays failed).
  void flush();

  // flush, then fsync (a no-op for discard writers and for fds that cannot
  // be synced, such as pipes). Throws std::system_error.
  void sync();
  // sync() then close; later writes throw. Throws std::system_error.
  void close();

  bool discards() const { return discard_; }
  const std::filesystem::path& path() const { return path_; }
  std::int64_t last_seq() const { return seq_; }
  const std::string& runtime_id() const { return runtime_id_; }

 private:
  EventWriter(std::filesystem::path path, UniqueFd fd, bool discard)
      : path_(std::move(path)),
        write_context_("write event log " + path_.string()),
        fd_(std::move(fd)),
        discard_(discard) {}

  void rebuild_envelope_tail();
  std::string_view batch_ts(bool batch_start);  // the ts of a line, as text

  static constexpr int kTsReuse = 64;  // buffered lines that may share one clock read

  std::filesystem::path path_;
  std::string write_context_;  // error prefix, built once rather than per event
  UniqueFd fd_;
  bool discard_ = true;
  std::int64_t seq_ = 0;
  std::string run_id_;
  std::string run_label_;
  std::string runtime_id_;
  std::string envelope_tail_;  // ,"run_id":"…" etc., encoded once for the fast path
  std::string pending_;        // whole lines not yet written
  std::string scratch_;        // a discard writer's line, a session.end's copy
  std::string ts_text_;        // the clock read batch_ts() hands out
  int ts_uses_ = 0;
};

}  // namespace avenor::host
