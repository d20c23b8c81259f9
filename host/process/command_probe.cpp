#include "process/command_probe.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "plugin_host/launch_environment.hpp"
#include "process/child_process.hpp"

namespace avenor::host {

ProbeResult probe_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  boost::asio::io_context io;
  ProbeResult result;
  std::string reason;
  bool closed = false;
  std::unique_ptr<ChildProcess> child;
  LaunchRequest request;
  request.argv = argv;
  try {
    ChildHandlers handlers;
    handlers.on_stdout = [&](std::string_view bytes) { result.output.append(bytes); };
    handlers.on_closed = [&](std::string r) {
      reason = std::move(r);
      closed = true;
    };
    child = ChildProcess::spawn(io, make_child_spec(request), std::move(handlers));
  } catch (const std::exception& e) {
    result.error = e.what();
    return result;
  }
  boost::asio::steady_timer deadline(io, timeout);
  deadline.async_wait([&](boost::system::error_code ec) {
    if (!ec && !closed) child->kill_now("timed out");
  });
  while (!closed && io.run_one() > 0) {
  }
  deadline.cancel();
  std::string tail = child->stderr_tail();
  if (!tail.empty()) result.output += tail;
  // A clean exit; the reason carries the stderr tail when there was one
  // ("process exited: 0.73.1" — pi prints its version on stderr).
  result.ok = child->exit_code() == 0;
  if (!result.ok) result.error = reason.empty() ? "did not finish" : reason;
  return result;
}

}  // namespace avenor::host
