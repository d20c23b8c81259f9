// codex-app-server: `codex app-server` over stdio (backends.md §3).
#include <avenor/sdk/export.hpp>
#include <memory>
#include <string_view>

#include "codex_backend.hpp"
#include "request_ids.hpp"

namespace {

constexpr avenor_backend_info kBackends[] = {{
    sizeof(avenor_backend_info),
    "codex-app-server",
    "codex",
    AVENOR_CAP_RESUME | AVENOR_CAP_RESUME_NEW_PROCESS | AVENOR_CAP_THINKING |
        AVENOR_CAP_THINKING_ON_RESUME | AVENOR_CAP_PERMISSIONS | AVENOR_CAP_MODEL_SELECTION,
    AVENOR_THINKING_LOW | AVENOR_THINKING_MEDIUM | AVENOR_THINKING_HIGH | AVENOR_THINKING_XHIGH |
        AVENOR_THINKING_MAX,
    R"([{"what":"codex --version","argv":["codex","--version"],"expect_substring":"codex-cli"}])",
}};

std::unique_ptr<avenor::sdk::Backend> make(std::string_view backend, avenor::sdk::Host host,
                                           avenor::sdk::StartOptions options) {
  if (backend != "codex-app-server") return nullptr;
  return std::make_unique<avenor::codex::CodexBackend>(host, std::move(options),
                                                       avenor::codex::clock_request_ids());
}

}  // namespace

AVENOR_PLUGIN("codex-app-server", "0.1.0", kBackends, make)
