// The NDJSON event log (events.md §1, §2): stamps every event with the run
// envelope and appends it as one line in a single write(2).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <string>

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
  // fsyncs and closes; errors cannot be reported here (call close() first
  // to see them).
  ~EventWriter();

  void set_run_id(std::string run_id) { run_id_ = std::move(run_id); }
  void set_run_label(std::string label) { run_label_ = std::move(label); }
  void set_runtime_id(std::string runtime_id) { runtime_id_ = std::move(runtime_id); }

  // Stamps a copy of `event` (ts, seq, run_id, run_label, runtime_id;
  // drops an empty session_id), writes it as compact JSON plus "\n" in one
  // write(2) (looping only on partial writes/EINTR), fsyncs after a
  // `session.end`, and returns the stamped copy for publishing.
  // Throws std::system_error on a write/fsync failure.
  boost::json::object write(boost::json::object event);

  // Stamps a copy without writing it; advances seq like write().
  boost::json::object stamp(boost::json::object event);

  // fsync (a no-op for discard writers and for fds that cannot be synced,
  // such as pipes). Throws std::system_error.
  void sync();
  // sync() then close; later writes throw. Throws std::system_error.
  void close();

  bool discards() const { return discard_; }
  const std::filesystem::path& path() const { return path_; }
  std::int64_t last_seq() const { return seq_; }

 private:
  EventWriter(std::filesystem::path path, UniqueFd fd, bool discard)
      : path_(std::move(path)),
        write_context_("write event log " + path_.string()),
        fd_(std::move(fd)),
        discard_(discard) {}

  std::filesystem::path path_;
  std::string write_context_;  // error prefix, built once rather than per event
  UniqueFd fd_;
  bool discard_ = true;
  std::int64_t seq_ = 0;
  std::string run_id_;
  std::string run_label_;
  std::string runtime_id_;
};

}  // namespace avenor::host
