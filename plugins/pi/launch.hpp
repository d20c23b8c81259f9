// What avenor launches for the pi backend (backends.md §6.1, §6.5).
#pragma once

#include <avenor/sdk/backend.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace avenor::pi {

// How long the host waits for pi to exit after closing its stdin, before
// SIGTERM (backends.md §6.5).
inline constexpr std::chrono::seconds kCloseGrace{5};

// `pi --mode rpc --no-session [--model M] [--thinking L]`, run in the
// absolute --dir, with PI_AGENT / PI_AGENT_PROFILE replaced by the run's agent
// and agent profile (removed when those are empty).
sdk::LaunchSpec launch_spec(const sdk::StartOptions& options);

// The pi spelling of an avenor --thinking level. pi 0.73.1 knows off, minimal,
// low, medium, high and xhigh; it answers an unknown `--thinking max` with a
// warning and its default level, and `set_thinking_level max` with "off", so
// avenor's `max` is sent as pi's highest level, `xhigh`.
std::string pi_thinking_level(std::string_view avenor_level);

}  // namespace avenor::pi
