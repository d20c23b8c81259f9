#include "mcp/stdio_transport.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <system_error>

#include "util/atomic_file.hpp"

namespace avenor::host::mcp {

namespace asio = boost::asio;
namespace bj = boost::json;

namespace {

// Splits input into lines; a line longer than the limit is reported once
// and skipped up to its newline, so one bad message costs one error.
class LineSplitter {
 public:
  template <typename OnLine, typename OnOversize>
  void feed(std::string_view chunk, OnLine&& on_line, OnOversize&& on_oversize) {
    while (!chunk.empty()) {
      const auto nl = chunk.find('\n');
      const auto part = chunk.substr(0, nl);
      if (!skipping_) {
        if (line_.size() + part.size() > kMaxMessageBytes) {
          skipping_ = true;
          line_.clear();
          on_oversize();
        } else {
          line_.append(part);
        }
      }
      if (nl == std::string_view::npos) return;
      if (!skipping_) on_line(std::exchange(line_, {}));
      skipping_ = false;
      chunk.remove_prefix(nl + 1);
    }
  }
  // The last line, when input ends without a newline.
  std::string rest() { return skipping_ ? std::string() : std::exchange(line_, {}); }

 private:
  std::string line_;
  bool skipping_ = false;
};

}  // namespace

StdioTransport::StdioTransport(McpServer& server, int in_fd, int out_fd)
    : server_(server), in_fd_(in_fd), out_fd_(out_fd) {}

void StdioTransport::write_line(const bj::object& message) {
  if (output_failed_) return;
  std::string line = bj::serialize(message);
  line += '\n';
  try {
    write_all(out_fd_, line, "write to stdout");
  } catch (const std::system_error&) {
    output_failed_ = true;  // the client is gone; serve() ends
  }
}

asio::awaitable<void> StdioTransport::handle(std::string line) {
  ++in_flight_;
  try {
    std::optional<bj::object> response = co_await server_.handle_text(
        std::move(line), [this](bj::object notification) { write_line(notification); });
    if (response) write_line(*response);
  } catch (const std::exception& e) {
    // handle_text answers bad input itself; this is a bug, not the client's.
    write_line(
        {{"jsonrpc", "2.0"},
         {"id", nullptr},
         {"error", {{"code", -32603}, {"message", std::string("Internal error: ") + e.what()}}}});
  }
  --in_flight_;
}

asio::awaitable<bool> StdioTransport::serve(std::function<void()> on_input_end) {
  auto ex = co_await asio::this_coro::executor;
  LineSplitter lines;
  auto on_line = [&](std::string line) {
    asio::co_spawn(ex, handle(std::move(line)), asio::detached);
  };
  auto on_oversize = [&] { write_line(McpServer::oversize_error()); };

  // A pipe or socket is read asynchronously; a regular file (stdin
  // redirected from a file) cannot be polled and is read in chunks, yielding
  // to the loop between them.
  const int fd = ::dup(in_fd_);
  struct stat st {};
  const bool pollable = fd >= 0 && ::fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
  std::array<char, 64 * 1024> buf{};
  if (pollable) {
    asio::posix::stream_descriptor in(ex, fd);
    while (!output_failed_) {
      boost::system::error_code ec;
      const std::size_t n = co_await in.async_read_some(
          asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      lines.feed(std::string_view(buf.data(), n), on_line, on_oversize);
    }
  } else if (fd >= 0) {
    while (!output_failed_) {
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      lines.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), on_line, on_oversize);
      co_await asio::post(ex, asio::use_awaitable);
    }
    ::close(fd);
  }
  if (std::string last = lines.rest(); !last.empty()) on_line(std::move(last));
  if (on_input_end) on_input_end();
  // Requests already read still get their answers.
  asio::steady_timer timer(ex);
  while (in_flight_ > 0 && !output_failed_) {
    timer.expires_after(std::chrono::milliseconds(20));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return !output_failed_;
}

}  // namespace avenor::host::mcp
