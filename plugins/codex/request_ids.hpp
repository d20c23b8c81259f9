// Request ids as codex app-server clients make them (backends.md §3.2):
// strings "<unix nanos>-<counter>", so ids from two avenor processes talking
// to codex never look alike in its logs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace avenor::codex {

std::string request_id(std::int64_t unix_nanos, std::int64_t counter);

// The generator for JsonRpcOptions::string_ids: the system clock's time now,
// then the request's sequence number.
std::function<std::string(std::int64_t)> clock_request_ids();

}  // namespace avenor::codex
