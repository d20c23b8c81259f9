// SHA-256 digests as lowercase hex (idempotency hashes, state directory keys).
#pragma once

#include <string>
#include <string_view>

namespace avenor::host {

// The SHA-256 of `data` as 64 lowercase hex characters (OpenSSL EVP).
// Throws std::runtime_error if OpenSSL fails (allocation failure only).
std::string sha256_hex(std::string_view data);

}  // namespace avenor::host
