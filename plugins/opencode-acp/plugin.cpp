// opencode-acp (the default backend): `opencode acp` over stdio, configured
// per session with the model and agent (mode) avenor was given (backends.md §1).
#include <avenor/sdk/acp_backend.hpp>
#include <avenor/sdk/export.hpp>
#include <memory>
#include <string_view>

namespace {

constexpr avenor_backend_info kBackends[] = {{
    sizeof(avenor_backend_info),
    "opencode-acp",
    "opencode",
    AVENOR_CAP_RESUME | AVENOR_CAP_RESUME_NEW_PROCESS | AVENOR_CAP_SUBPROCESS_DISCOVERY |
        AVENOR_CAP_PERMISSIONS | AVENOR_CAP_MODEL_SELECTION,
    0,
    R"([{"what":"opencode --version","argv":["opencode","--version"]}])",
}};

std::unique_ptr<avenor::sdk::Backend> make(std::string_view backend, avenor::sdk::Host host,
                                           avenor::sdk::StartOptions options) {
  if (backend != "opencode-acp") return nullptr;
  avenor::sdk::AcpProfile profile;
  profile.argv = {"opencode",
                  "acp",
                  "--pure",
                  "--log-level",
                  "WARN",
                  "--cwd",
                  std::string(avenor::sdk::AcpProfile::kDirToken)};
  profile.configure_model = true;
  profile.configure_mode = true;
  return std::make_unique<avenor::sdk::AcpBackend>(host, std::move(options), std::move(profile));
}

}  // namespace

AVENOR_PLUGIN("opencode-acp", "0.1.0", kBackends, make)
