#include "watch/watch_session.hpp"

#include <poll.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <optional>
#include <string>
#include <system_error>

#include "process/signals.hpp"
#include "watch/cursor_file.hpp"
#include "watch/line_reader.hpp"
#include "watch/output_sink.hpp"
#include "watch/until_end.hpp"

namespace avenor::host::watch {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr const char* kPrefix = "avenor watch: ";
// One read per loop turn: small enough that a signal is handled promptly
// while a large backlog is being read.
constexpr std::size_t kReadChunk = 64 * 1024;
// Follow mode saves the cursor this often, so a crash loses little progress.
constexpr int kCursorEveryLines = 10;

// The Asio objects of follow mode. Created only for --follow, so that
// without it SIGINT/SIGTERM keep their default effect.
struct FollowLoop {
  asio::io_context io;
  asio::signal_set signals{io, SIGINT, SIGTERM};  // end within 1 s of a signal
  asio::steady_timer timer{io};                   // poll interval, until-end grace
};

class WatchSession {
 public:
  WatchSession(UniqueFd log, std::int64_t start_offset, const WatchConfig& config,
               std::ostream& out, std::ostream& err)
      : log_(std::move(log)),
        config_(config),
        err_(err),
        reader_(start_offset),
        sink_(out),
        processor_(config.lines, sink_, err) {}

  int run_to_eof() {
    unblock_termination_signals();  // main() blocked them; plain mode keeps the defaults
    while (true) {
      const LineReader::ReadResult read = read_and_process();
      if (failed_) return 1;
      if (reader_gone_) return 0;
      if (read.bytes == 0) return finish();
    }
  }

  int follow() {
    loop_.emplace();
    unblock_termination_signals();  // the signal_set exists: an early signal ends the follow
    loop_->signals.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) stop();
    });
    asio::post(loop_->io, [this] { step(); });
    loop_->io.run();
    // The signal handlers stay installed until the final flush and cursor
    // write are done, so a second signal cannot cut them short.
    const int code = failed_ ? 1 : reader_gone_ ? 0 : finish();
    loop_.reset();
    return code;
  }

 private:
  // One read and every complete line it completes.
  LineReader::ReadResult read_and_process() {
    const LineReader::ReadResult read = reader_.read_from(log_.get(), kReadChunk);
    if (read.error != 0) {
      fail("read log: " + std::error_code(read.error, std::generic_category()).message());
      return read;
    }
    while (!ended()) {
      const auto line = reader_.next_line();
      if (!line) break;
      handle_line(*line);
    }
    return read;
  }

  void handle_line(const LineReader::Line& line) {
    const LineProcessor::Handled handled = line.oversize_bytes > 0
                                               ? processor_.handle_oversize(line.oversize_bytes)
                                               : processor_.handle(line.text);
    if (check_output()) return;
    if (!handled.counted || !config_.follow) return;
    if (config_.until_end) {
      switch (tracker_.observe(handled.event)) {
        case UntilEndTracker::Verdict::stop_now:
          terminal_seen_ = true;
          break;
        case UntilEndTracker::Verdict::stop_after_grace:
          grace_deadline_ = Clock::now() + config_.until_end_grace;
          break;
        case UntilEndTracker::Verdict::keep_watching:
          break;
      }
    }
    if (!config_.cursor_path.empty() && ++lines_since_cursor_ >= kCursorEveryLines) {
      lines_since_cursor_ = 0;
      save_cursor();
    }
  }

  // One turn of the follow loop: read what is there, then either go on at
  // once (more may be buffered), stop, or sleep the poll interval.
  void step() {
    if (done_) return;
    const LineReader::ReadResult read = read_and_process();
    if (ended()) return stop();
    if (read.bytes > 0) {
      asio::post(loop_->io, [this] { step(); });
      return;
    }
    // Caught up: let a reader of our stdout see what we have.
    if (!sink_.flush()) {
      check_output();
      return stop();
    }
    if (output_closed()) {
      reader_gone_ = true;
      return stop();
    }
    if (terminal_seen_) return stop();
    Clock::duration wait = config_.poll_interval;
    if (config_.until_end && tracker_.grace_pending()) {
      const Clock::time_point now = Clock::now();
      if (now >= grace_deadline_) return stop();
      wait = std::min(wait, grace_deadline_ - now);
    }
    loop_->timer.expires_after(wait);
    loop_->timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) step();
    });
  }

  void stop() {
    done_ = true;
    if (!loop_) return;
    loop_->timer.cancel();
    loop_->signals.cancel();
  }

  // Flushes the accumulator and the output, then saves the cursor.
  int finish() {
    processor_.flush_accumulator();
    if (!sink_.flush()) {
      check_output();
      return reader_gone_ ? 0 : 1;
    }
    if (!config_.cursor_path.empty() && !save_cursor()) return reader_gone_ ? 0 : 1;
    return 0;
  }

  // The cursor never runs ahead of output that was delivered.
  bool save_cursor() {
    if (!sink_.flush()) {
      check_output();
      return false;
    }
    const std::string error = write_cursor(config_.cursor_path, reader_.offset());
    if (!error.empty()) fail(error);
    return error.empty();
  }

  // Reports a failed output once; true when it has failed. A reader that
  // went away is no failure: watch just ends.
  bool check_output() {
    if (!sink_.failed()) return false;
    if (sink_.reader_gone())
      reader_gone_ = true;
    else if (!failed_)
      fail("write stdout: " + sink_.error());
    return true;
  }

  bool ended() const { return failed_ || reader_gone_; }

  // While idle nothing is written, so a pipe whose reader has exited would
  // go unnoticed until the next event; poll reports it as POLLERR.
  bool output_closed() const {
    if (config_.output_fd < 0) return false;
    pollfd p{config_.output_fd, 0, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
  }

  void fail(const std::string& message) {
    if (failed_) return;
    failed_ = true;
    err_ << kPrefix << message << "\n";
    err_.flush();
  }

  UniqueFd log_;
  const WatchConfig& config_;
  std::ostream& err_;
  LineReader reader_;
  OutputSink sink_;
  LineProcessor processor_;
  UntilEndTracker tracker_;
  int lines_since_cursor_ = 0;
  bool terminal_seen_ = false;
  Clock::time_point grace_deadline_{};
  bool failed_ = false;
  bool reader_gone_ = false;
  bool done_ = false;
  std::optional<FollowLoop> loop_;  // follow mode only
};

}  // namespace

int run_watch(UniqueFd log, std::int64_t start_offset, const WatchConfig& config, std::ostream& out,
              std::ostream& err) {
  WatchSession session(std::move(log), start_offset, config, out, err);
  return config.follow ? session.follow() : session.run_to_eof();
}

}  // namespace avenor::host::watch
