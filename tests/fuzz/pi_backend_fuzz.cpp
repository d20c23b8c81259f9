// The pi plugin's backend (strict JSON lines, commands and responses, the
// event stream, agent_end and extension UI dialogs) driven like the host
// drives it, with pi's side from the fuzz input (backend_driver.hpp).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "backend_driver.hpp"
#include "pi/pi_backend.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  avenor::fuzz::drive_backend(avenor::fuzz::as_text(data, size), [](avenor::sdk::Host host) {
    avenor::sdk::StartOptions options;
    options.dir = "/work/proj";
    std::int64_t now = 1000;  // fixed ids: avenor-1000-1, avenor-1001-2, ...
    return std::make_unique<avenor::pi::PiBackend>(
        host, options, avenor::pi::CommandIds([now]() mutable { return now++; }));
  });
  return 0;
}
