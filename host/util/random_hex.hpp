// Random identifiers and tokens from the kernel's CSPRNG, as lowercase hex.
#pragma once

#include <cstddef>
#include <string>

namespace avenor::host {

// `bytes` random bytes as 2×bytes hex characters. Throws std::system_error
// if the kernel cannot supply them (never falls back to a weaker source).
std::string random_hex(std::size_t bytes);

// A random (version 4, RFC 9562) UUID in its 8-4-4-4-12 lowercase form.
std::string random_uuid_v4();

}  // namespace avenor::host
