// The ACP client (opencode-acp, gemini-acp, cursor-acp) driven like the host
// drives it, with the agent's side of the conversation from the fuzz input
// (script language: backend_driver.hpp). A first line "@profile cursor" or
// "@profile gemini" picks that plugin's profile; opencode's is the default,
// with a model and a mode so every handshake step runs.
#include <avenor/sdk/acp_backend.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "backend_driver.hpp"

namespace {

using avenor::sdk::AcpBackend;
using avenor::sdk::AcpProfile;
using avenor::sdk::StartOptions;

AcpProfile profile_for(std::string_view input) {
  AcpProfile p;
  if (input.starts_with("@profile cursor")) {
    p.argv = {"agent", "acp"};
    p.authenticate_method = "cursor_login";
  } else if (input.starts_with("@profile gemini")) {
    p.argv = {"gemini", "--acp"};
  } else {
    p.argv = {"opencode", "acp", "--cwd", std::string(AcpProfile::kDirToken)};
    p.configure_model = true;
    p.configure_mode = true;
  }
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = avenor::fuzz::as_text(data, size);
  avenor::fuzz::drive_backend(input, [&](avenor::sdk::Host host) {
    StartOptions options;
    options.dir = "/work/proj";
    options.model = "m1";
    options.agent = "build";
    return std::make_unique<AcpBackend>(host, options, profile_for(input));
  });
  return 0;
}
