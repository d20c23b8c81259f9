#include "stable/dead_runtime.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <avenor/sdk/json.hpp>
#include <boost/json/parse.hpp>
#include <string_view>

#include "run/sentinel.hpp"
#include "util/atomic_file.hpp"
#include "util/json_text.hpp"
#include "util/read_file.hpp"
#include "util/unique_fd.hpp"
#include "util/unix_time.hpp"

namespace avenor::host {

namespace json = sdk::json;
using boost::json::object;

namespace {

constexpr off_t kTailBytes = off_t{8} << 20;

}  // namespace

LogTail read_log_tail(const std::filesystem::path& log) {
  LogTail tail;
  if (log.empty()) return tail;
  const std::string data = read_regular_tail(log, kTailBytes);
  std::string_view rest(data);
  // The last complete line: everything up to the final newline.
  const auto end = rest.rfind('\n');
  if (end == std::string_view::npos) return tail;
  rest = rest.substr(0, end);
  const auto start = rest.rfind('\n');
  const std::string_view line = start == std::string_view::npos ? rest : rest.substr(start + 1);
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) return tail;
  tail.last_event = json::string_or(v.get_object(), "event");
  tail.last_seq = json::find_int(v.get_object(), "seq").value_or(0);
  return tail;
}

object append_dead_runtime_event(const std::filesystem::path& log, object event, std::int64_t seq,
                                 const std::string& run_id, const std::string& run_label,
                                 const std::string& runtime_id, std::ostream& err) {
  event["ts"] = unix_ms_now();
  event["seq"] = seq;
  event["run_id"] = run_id;
  if (!run_label.empty()) event["run_label"] = run_label;
  event["runtime_id"] = runtime_id;
  if (log.empty()) return event;
  std::string line = to_compact_json(event);
  line.push_back('\n');
  // O_RDWR rather than O_WRONLY: the last byte is read back below.
  UniqueFd fd(
      ::open(log.c_str(), O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0644));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    err << "avenor stable: append to " << log.string() << ": not a writable regular file\n";
    return event;
  }
  // A runtime killed mid-write (or a full disk) leaves a torn last line;
  // appending to it would glue this event onto it and lose both. End it
  // first, in the same write(2).
  if (st.st_size > 0) {
    char last = '\n';
    if (::pread(fd.get(), &last, 1, st.st_size - 1) == 1 && last != '\n') line.insert(0, 1, '\n');
  }
  try {
    write_all(fd.get(), line, "append to " + log.string());
    ::fsync(fd.get());
  } catch (const std::exception& e) {
    err << "avenor stable: " << e.what() << "\n";
  }
  return event;
}

void write_failed_sentinel(const std::filesystem::path& sentinel, const std::string& session_id,
                           const std::string& run_id, std::ostream& err) {
  if (sentinel.empty()) return;
  write_sentinel(sentinel, SentinelInfo{1, session_id, "error", run_id, {}}, err);
}

int sentinel_exit_code(const std::filesystem::path& sentinel) {
  const std::string text = read_regular_tail(sentinel, 64 * 1024);
  const std::string first = text.substr(0, text.find('\n'));
  if (first == "DONE") return 0;
  if (first == "BLOCKED") return 5;
  if (first == "TIMEOUT") return 124;
  if (first == "KILLED") return 130;
  if (const auto at = text.find("\nEXIT_CODE="); at != std::string::npos) {
    try {
      return std::stoi(text.substr(at + 11));
    } catch (const std::exception&) {
    }
  }
  return 1;
}

}  // namespace avenor::host
