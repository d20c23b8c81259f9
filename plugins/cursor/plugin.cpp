// cursor-acp: Cursor's agent CLI (`agent acp`) over stdio. It needs an
// explicit authenticate step, relying on an earlier `agent login`; model and
// mode come from its own config (backends.md §5).
#include <avenor/sdk/acp_backend.hpp>
#include <avenor/sdk/export.hpp>
#include <memory>
#include <string_view>

namespace {

constexpr avenor_backend_info kBackends[] = {{
    sizeof(avenor_backend_info),
    "cursor-acp",
    "agent",
    AVENOR_CAP_RESUME | AVENOR_CAP_RESUME_NEW_PROCESS | AVENOR_CAP_PERMISSIONS,
    0,
    R"([{"what":"agent --version","argv":["agent","--version"]}])",
}};

std::unique_ptr<avenor::sdk::Backend> make(std::string_view backend, avenor::sdk::Host host,
                                           avenor::sdk::StartOptions options) {
  if (backend != "cursor-acp") return nullptr;
  avenor::sdk::AcpProfile profile;
  profile.argv = {"agent", "acp"};
  profile.authenticate_method = "cursor_login";
  return std::make_unique<avenor::sdk::AcpBackend>(host, std::move(options), std::move(profile));
}

}  // namespace

AVENOR_PLUGIN("cursor-acp", "0.1.0", kBackends, make)
