#include "mcp/event_log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <deque>
#include <functional>
#include <system_error>

#include "control/bounded_output.hpp"
#include "mcp/tool_args.hpp"
#include "util/read_file.hpp"
#include "util/unique_fd.hpp"

namespace avenor::host::mcp {

namespace bj = boost::json;

namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Calls `each` with every complete line of the log as it was when opened.
// false when the log does not exist. A torn last line (a writer killed
// mid-write, a full disk) is incomplete, not an error, whatever its length.
bool for_each_line(const std::string& path, const std::function<void(std::string_view)>& each) {
  UniqueFd fd;
  try {
    fd = open_regular_file(path, Symlinks::refuse);
  } catch (const FileReadError& e) {
    if (e.missing()) return false;
    if (e.code() == FileProblem::not_regular)
      throw ToolError("event log " + path + " is not a regular file");
    throw ToolError("read event log " + path + ": " + e.code().message());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw ToolError("read event log " + path + ": " + errno_text(errno));
  off_t left = st.st_size;
  std::string pending;
  bool oversize = false;  // the current line is over the limit: dropped, not held
  std::array<char, 64 * 1024> buf{};
  while (left > 0) {
    const ssize_t n =
        ::read(fd.get(), buf.data(), static_cast<std::size_t>(std::min<off_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ToolError("read event log " + path + ": " + errno_text(errno));
    if (n == 0) break;
    left -= n;
    std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
    while (!chunk.empty()) {
      const auto nl = chunk.find('\n');
      const auto part = chunk.substr(0, nl);
      if (oversize || pending.size() + part.size() > kMaxEventLine) {
        oversize = true;
        pending.clear();
      } else {
        pending.append(part);
      }
      if (nl == std::string_view::npos) break;
      // Only a complete line can be judged too long.
      if (oversize) throw ToolError("event log " + path + " has a line over 1 MiB");
      each(pending);
      pending.clear();
      chunk.remove_prefix(nl + 1);
    }
  }
  // A last line still being written (or torn) is not an event yet.
  return true;
}

std::optional<bj::object> parse_event(std::string_view line) {
  boost::system::error_code ec;
  bj::value v = bj::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

bool matches(const bj::object& e, const std::vector<std::string>& types) {
  if (types.empty()) return true;
  for (const char* key : {"event", "type"}) {
    const bj::value* v = e.if_contains(key);
    if (v == nullptr || !v->is_string()) continue;
    for (const auto& t : types)
      if (v->get_string() == t) return true;
  }
  return false;
}

}  // namespace

bj::array last_events(const std::string& path, const std::vector<std::string>& types,
                      std::size_t limit) {
  std::deque<bj::object> kept;
  for_each_line(path, [&](std::string_view line) {
    std::optional<bj::object> e = parse_event(line);
    if (!e || !matches(*e, types)) return;
    kept.push_back(std::move(*e));
    if (kept.size() > limit) kept.pop_front();
  });
  bj::array out;
  for (auto& e : kept) {
    bound_final_output(e);
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<bj::object> last_session_end(const std::string& path) {
  std::optional<bj::object> end;
  try {
    for_each_line(path, [&](std::string_view line) {
      if (line.find("\"session.end\"") == std::string_view::npos) return;
      std::optional<bj::object> e = parse_event(line);
      const bj::value* name = e ? e->if_contains("event") : nullptr;
      if (name != nullptr && name->is_string() && name->get_string() == "session.end")
        end = std::move(e);
    });
  } catch (const ToolError&) {
    // An unreadable log has no output to offer.
  }
  return end;
}

}  // namespace avenor::host::mcp
