#include "events/event_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <system_error>

#include "util/atomic_file.hpp"
#include "util/json_number.hpp"
#include "util/json_text.hpp"
#include "util/unix_time.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;

void add_if_missing(bj::object& o, std::string_view key, const std::string& value) {
  if (!value.empty() && !o.contains(key)) o[key] = value;
}

// fsync on a pipe, socket or character device (--on-event /dev/stdout) fails
// with EINVAL; such streams have nothing to flush to disk.
bool fsync_ok(int fd) {
  if (::fsync(fd) == 0) return true;
  return errno == EINVAL || errno == EROFS;
}

}  // namespace

EventWriter EventWriter::open(const std::filesystem::path& path) {
  if (path.empty()) return EventWriter({}, UniqueFd(), true);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (!fd) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  return EventWriter(path, std::move(fd), false);
}

EventWriter::~EventWriter() {
  if (fd_) ::fsync(fd_.get());
}

bj::object EventWriter::stamp(bj::object out) {
  if (!json_int64(out.if_contains("ts"))) out["ts"] = unix_ms_now();
  if (auto seq = json_int64(out.if_contains("seq"))) {
    seq_ = std::max(seq_, *seq);
  } else {
    out["seq"] = ++seq_;
  }
  add_if_missing(out, "run_id", run_id_);
  add_if_missing(out, "run_label", run_label_);
  add_if_missing(out, "runtime_id", runtime_id_);
  if (const bj::value* sid = out.if_contains("session_id");
      sid != nullptr && sid->is_string() && sid->get_string().empty()) {
    out.erase("session_id");
  }
  return out;
}

bj::object EventWriter::write(bj::object event) {
  bj::object stamped = stamp(std::move(event));
  std::string line;
  append_compact_json(line, stamped);
  line += '\n';
  if (discard_) return stamped;
  if (!fd_) throw std::system_error(EBADF, std::generic_category(), "write event log (closed)");
  // One write(2) for the whole line so concurrent readers never see a torn
  // line; the loop only continues a partial write.
  write_all(fd_.get(), line, write_context_);
  const bj::value* type = stamped.if_contains("event");
  if (type != nullptr && type->is_string() && type->get_string() == "session.end") sync();
  return stamped;
}

void EventWriter::sync() {
  if (!fd_) return;
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
