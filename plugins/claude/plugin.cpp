// claude (docs/backends/claude.md): Claude Code driven through its structured
// stream protocol, `claude -p --input-format stream-json --output-format
// stream-json --permission-prompt-tool stdio`; one session per process.
#include <avenor/sdk/export.hpp>
#include <memory>
#include <string_view>

#include "claude_backend.hpp"

namespace {

constexpr avenor_backend_info kBackends[] = {{
    sizeof(avenor_backend_info),
    "claude",
    "claude",
    AVENOR_CAP_RESUME | AVENOR_CAP_RESUME_NEW_PROCESS | AVENOR_CAP_THINKING |
        AVENOR_CAP_THINKING_ON_RESUME | AVENOR_CAP_PERMISSIONS | AVENOR_CAP_MODEL_SELECTION,
    // claude --effort <level>: low, medium, high, xhigh, max (2.1.197); no off.
    AVENOR_THINKING_LOW | AVENOR_THINKING_MEDIUM | AVENOR_THINKING_HIGH | AVENOR_THINKING_XHIGH |
        AVENOR_THINKING_MAX,
    R"([{"what":"claude --version","argv":["claude","--version"],"expect_substring":"Claude Code"}])",
}};

std::unique_ptr<avenor::sdk::Backend> make(std::string_view backend, avenor::sdk::Host host,
                                           avenor::sdk::StartOptions options) {
  if (backend != "claude") return nullptr;
  return std::make_unique<avenor::claude::ClaudeBackend>(host, std::move(options));
}

}  // namespace

AVENOR_PLUGIN("claude", "0.1.0", kBackends, make)
