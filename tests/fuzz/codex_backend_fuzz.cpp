// The codex-app-server plugin's backend (JSON-RPC without "jsonrpc", threads,
// turns, approvals, item and notification mapping) driven like the host
// drives it, with codex's side from the fuzz input (backend_driver.hpp).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backend_driver.hpp"
#include "codex/codex_backend.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  avenor::fuzz::drive_backend(avenor::fuzz::as_text(data, size), [](avenor::sdk::Host host) {
    avenor::sdk::StartOptions options;
    options.dir = "/work/proj/";
    options.model = "gpt-5";
    options.thinking = "high";
    return std::make_unique<avenor::codex::CodexBackend>(
        host, options, [](std::int64_t n) { return "t-" + std::to_string(n); });
  });
  return 0;
}
