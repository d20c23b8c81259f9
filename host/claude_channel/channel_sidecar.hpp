// The MCP channel sidecar (backends.md §7.4): Claude Code starts it from the
// MCP config; it serves MCP on stdio and talks to the session's relay over
// loopback HTTP. One thread, one Asio loop: stdin lines, tool calls (each its
// own coroutine), the control long-poll and the heartbeat all run on it.
#pragma once

#include <chrono>
#include <string>

#include "claude_channel/loopback_http.hpp"

namespace avenor::host::claude_channel {

struct SidecarConfig {
  std::string run_id;
  std::string token;
  LoopbackUrl broker;
  std::chrono::milliseconds http_timeout{10'000};
  std::chrono::milliseconds heartbeat_interval{5'000};
  // Pause after a failed poll before the next one (a healthy relay holds the
  // poll for up to 2 s itself).
  std::chrono::milliseconds poll_retry_delay{1'000};
};

class ChannelSidecar {
 public:
  explicit ChannelSidecar(SidecarConfig config);

  // Serves MCP on `in_fd`/`out_fd` until the input ends. Returns 0 at the end
  // of input, 1 when the output fails or the input is unreadable (the reason
  // goes to the log).
  int run(int in_fd, int out_fd);

 private:
  struct Loop;
  SidecarConfig config_;
  LoopbackHttpClient http_;
};

}  // namespace avenor::host::claude_channel
