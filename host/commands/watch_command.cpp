#include "commands/watch_command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <system_error>

#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"
#include "util/unique_fd.hpp"
#include "watch/cursor_file.hpp"
#include "watch/watch_session.hpp"

namespace avenor::host {
namespace {

constexpr const char* kPrefix = "avenor watch: ";
constexpr int kExitUsage = 2;
constexpr auto kDefaultPoll = std::chrono::milliseconds(250);

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

}  // namespace

int watch_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  GoFlagSet flags("avenor watch");
  flags.set_usage_header(
      "Usage: avenor watch [--follow [--until-end]] [--format plain|json] [--classify] "
      "[--accumulate] [--poll-interval 250ms] [--since-cursor <file>] <log>\n"
      "Flags may come before or after <log>; -- ends the flags.\n");
  flags.set_interspersed(true);  // D13: `avenor watch ev.ndjson --classify`
  bool follow = false;
  bool until_end = false;
  bool classify = false;
  bool accumulate = false;
  std::string format;
  std::string since_cursor;
  std::chrono::nanoseconds poll_interval{};
  flags.bool_var(follow, "follow", false,
                 "tail the log: at EOF sleep the poll interval and read again");
  flags.bool_var(until_end, "until-end", false,
                 "with --follow: end after the final session.end / avenor.loop.end");
  flags.duration_var(poll_interval, "poll-interval", kDefaultPoll, "follow-mode sleep interval");
  flags.string_var(format, "format", "plain",
                   "output format: plain (EVENT lines) or json (NDJSON passthrough)");
  flags.bool_var(classify, "classify", false,
                 "tag events MILESTONE, FINDING or ACTIVITY (plain: line prefix; json: a "
                 "\"classify\" field)");
  flags.bool_var(accumulate, "accumulate", false,
                 "merge runs of chunk events of one session and type into one line (plain only)");
  flags.string_var(since_cursor, "since-cursor", "",
                   "cursor `file`: start at its saved byte offset and save the new one");

  const UsageReporter usage("watch", kExitUsage, out, err);
  const GoFlagSet::ParseResult parsed = flags.parse(args);
  if (!parsed.ok()) return usage.parse_failure(flags, parsed);
  if (flags.args().empty()) return usage.error("<log> is required");
  if (flags.args().size() > 1)
    return usage.error("unexpected argument " + boost::json::serialize(flags.args()[1]) +
                       " (watch takes one <log>)");
  watch::WatchConfig config;
  if (format == "plain") {
    config.lines.format = watch::OutputFormat::plain;
  } else if (format == "json") {
    config.lines.format = watch::OutputFormat::json;
  } else {
    return usage.error("unsupported --format " + boost::json::serialize(format) +
                       " (plain or json)");
  }
  config.lines.classify = classify;
  config.lines.accumulate = accumulate;
  config.follow = follow;
  config.until_end = until_end;
  config.poll_interval = poll_interval.count() > 0 ? poll_interval : kDefaultPoll;
  config.cursor_path = since_cursor;
  if (&out == &std::cout) config.output_fd = STDOUT_FILENO;

  const std::string log_path = flags.args().front();
  // O_NONBLOCK: a FIFO without a writer must not block the open; the log is
  // then refused below, as is a device (/dev/zero would never end).
  UniqueFd log(::open(log_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!log) {
    err << kPrefix << "open " << log_path << ": " << errno_text(errno) << "\n";
    return kExitUsage;
  }
  struct stat st {};
  if (::fstat(log.get(), &st) != 0) {
    err << kPrefix << "stat " << log_path << ": " << errno_text(errno) << "\n";
    return kExitUsage;
  }
  // A directory opens but can never be read as a log.
  if (S_ISDIR(st.st_mode)) {
    err << kPrefix << "open " << log_path << ": " << errno_text(EISDIR) << "\n";
    return kExitUsage;
  }
  if (!S_ISREG(st.st_mode)) {
    err << kPrefix << "open " << log_path << ": not a regular file\n";
    return kExitUsage;
  }

  std::int64_t start_offset = 0;
  if (!since_cursor.empty()) {
    const watch::CursorRead cursor = watch::read_cursor(since_cursor);
    if (!cursor.ok()) {
      err << kPrefix << cursor.error << "\n";
      return kExitUsage;
    }
    const std::string too_far = watch::check_cursor_against_log(
        cursor.offset, static_cast<std::int64_t>(st.st_size), log_path, since_cursor);
    if (!too_far.empty()) {
      err << kPrefix << too_far << "\n";
      return kExitUsage;
    }
    if (cursor.offset > 0 && ::lseek(log.get(), cursor.offset, SEEK_SET) < 0) {
      err << kPrefix << "seek " << log_path << ": " << errno_text(errno) << "\n";
      return kExitUsage;
    }
    start_offset = cursor.offset;
  }

  if (accumulate && config.lines.format != watch::OutputFormat::plain)
    err << kPrefix << "--accumulate is only supported with --format plain; ignoring\n";

  return watch::run_watch(std::move(log), start_offset, config, out, err);
}

}  // namespace avenor::host
