// opencode-http: opencode's HTTP server API and its SSE event stream
// (backends.md §2), through the host services of plugin ABI 1.1.
#include <avenor/sdk/export.hpp>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "opencode_http_backend.hpp"

namespace {

// No AVENOR_CAP_EXTERNAL_URL: that bit means "requires --server-url", and
// without one this backend starts its own `opencode serve` (the managed
// server). The CLI is opencode for the same reason.
constexpr avenor_backend_info kBackends[] = {{
    sizeof(avenor_backend_info),
    "opencode-http",
    "opencode",
    AVENOR_CAP_RESUME | AVENOR_CAP_RESUME_NEW_PROCESS | AVENOR_CAP_PERMISSIONS |
        AVENOR_CAP_MODEL_SELECTION,
    0,
    R"([{"what":"opencode --version","argv":["opencode","--version"]}])",
}};

std::unique_ptr<avenor::sdk::Backend> make(std::string_view backend, avenor::sdk::Host host,
                                           avenor::sdk::StartOptions options) {
  if (backend != "opencode-http") return nullptr;
  if (!host.services().available())
    throw std::runtime_error("opencode-http needs an avenor host with plugin ABI 1.1 services");
  return std::make_unique<avenor::opencode_http::OpencodeHttpBackend>(host, std::move(options));
}

}  // namespace

AVENOR_PLUGIN("opencode-http", "0.1.0", kBackends, make)
