// claude-channel (backends.md §7, experimental): interactive Claude Code in a
// detached tmux session plus the avenor MCP channel sidecar.
#include <avenor/sdk/export.hpp>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "channel_backend.hpp"

namespace {

constexpr avenor_backend_info kBackends[] = {{
    sizeof(avenor_backend_info),
    "claude-channel",
    "claude",
    AVENOR_CAP_RESUME | AVENOR_CAP_THINKING | AVENOR_CAP_PERMISSIONS | AVENOR_CAP_MODEL_SELECTION |
        AVENOR_CAP_SUBPROCESS_DISCOVERY,
    AVENOR_THINKING_LOW | AVENOR_THINKING_MEDIUM | AVENOR_THINKING_HIGH | AVENOR_THINKING_XHIGH |
        AVENOR_THINKING_MAX,
    R"([{"what":"claude --version","argv":["claude","--version"],"expect_substring":"Claude Code"},
        {"what":"tmux -V","argv":["tmux","-V"],"expect_substring":"tmux"}])",
}};

std::string env_or(const char* name, std::string_view fallback = {}) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::string(fallback);
}

std::unique_ptr<avenor::sdk::Backend> make(std::string_view backend, avenor::sdk::Host host,
                                           avenor::sdk::StartOptions options) {
  if (backend != "claude-channel") return nullptr;
  // Only the tmux terminal is built; unknown values mean tmux (backends.md §7.1).
  if (env_or("AVENOR_CLAUDE_TERMINAL") == "pty")
    throw std::runtime_error(
        "AVENOR_CLAUDE_TERMINAL=pty is not supported by this avenor; unset it to use tmux");
  avenor::claude_channel::ChannelEnvironment env;
  env.config_dir = env_or("CLAUDE_CONFIG_DIR", env_or("HOME", "") + "/.claude");
  return std::make_unique<avenor::claude_channel::ChannelBackend>(host, std::move(options),
                                                                  std::move(env));
}

}  // namespace

AVENOR_PLUGIN("claude-channel", "0.1.0", kBackends, make)
