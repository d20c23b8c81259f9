// pi (backends.md §6): `pi --mode rpc --no-session`, one session per process,
// extension UI dialogs relayed as permission requests.
#include <avenor/sdk/export.hpp>
#include <memory>
#include <string_view>

#include "pi_backend.hpp"

namespace {

constexpr avenor_backend_info kBackends[] = {{
    sizeof(avenor_backend_info),
    "pi",
    "pi",
    AVENOR_CAP_RESUME | AVENOR_CAP_THINKING | AVENOR_CAP_THINKING_ON_RESUME |
        AVENOR_CAP_PERMISSIONS | AVENOR_CAP_MODEL_SELECTION,
    AVENOR_THINKING_OFF | AVENOR_THINKING_LOW | AVENOR_THINKING_MEDIUM | AVENOR_THINKING_HIGH |
        AVENOR_THINKING_XHIGH | AVENOR_THINKING_MAX,
    R"([{"what":"pi --version","argv":["pi","--version"]}])",
}};

std::unique_ptr<avenor::sdk::Backend> make(std::string_view backend, avenor::sdk::Host host,
                                           avenor::sdk::StartOptions options) {
  if (backend != "pi") return nullptr;
  return std::make_unique<avenor::pi::PiBackend>(host, std::move(options));
}

}  // namespace

AVENOR_PLUGIN("pi", "0.1.0", kBackends, make)
