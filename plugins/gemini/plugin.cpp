// gemini-acp: `gemini --acp` over stdio. gemini's own settings pick the model
// and mode, so nothing is configured after session/new (backends.md §4).
#include <avenor/sdk/acp_backend.hpp>
#include <avenor/sdk/export.hpp>
#include <memory>
#include <string_view>

namespace {

constexpr avenor_backend_info kBackends[] = {{
    sizeof(avenor_backend_info),
    "gemini-acp",
    "gemini",
    // No RESUME_NEW_PROCESS: gemini 0.61 answers session/resume "Method not found".
    AVENOR_CAP_RESUME | AVENOR_CAP_PERMISSIONS,
    0,
    R"([{"what":"gemini --version","argv":["gemini","--version"]}])",
}};

std::unique_ptr<avenor::sdk::Backend> make(std::string_view backend, avenor::sdk::Host host,
                                           avenor::sdk::StartOptions options) {
  if (backend != "gemini-acp") return nullptr;
  avenor::sdk::AcpProfile profile;
  // No --cwd: the directory goes only into session/new.
  profile.argv = {"gemini", "--acp", "--approval-mode", "default"};
  return std::make_unique<avenor::sdk::AcpBackend>(host, std::move(options), std::move(profile));
}

}  // namespace

AVENOR_PLUGIN("gemini-acp", "0.1.0", kBackends, make)
