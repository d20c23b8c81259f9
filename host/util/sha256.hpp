// SHA-256 digests as lowercase hex (idempotency hashes, state directory keys).
#pragma once

#include <string>
#include <string_view>

namespace avenor::host {

// The SHA-256 (FIPS 180-4) of `data` as 64 lowercase hex characters. Written
// here rather than taken from libcrypto: linking it costs every `avenor run`
// process about 1.4 MiB of resident memory for two short hashes per spawn.
std::string sha256_hex(std::string_view data);

}  // namespace avenor::host
