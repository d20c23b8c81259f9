// Whether the installed pi takes `--thinking <level>` (backends.md §6.1):
// before a fresh start with thinking avenor runs `pi --help` (through the
// host's process service) and looks for the flag, so an older pi that would
// ignore it fails the start instead of silently thinking at its default.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <avenor/sdk/service_types.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::pi {

// The help text must contain this (pi 0.73.1 prints its help on stderr).
inline constexpr std::string_view kThinkingFlagHelp = "--thinking <level>";

// `pi --help`, in the same directory and environment pi itself runs in.
sdk::ProcessRequest help_request(const sdk::LaunchSpec& launch);

// Why the start must fail after `pi --help` ended with `outcome`, or nullopt
// when the flag is there.
std::optional<std::string> thinking_support_error(const sdk::Outcome<sdk::ProcessResult>& outcome);

}  // namespace avenor::pi
