// Go duration syntax (time.ParseDuration / Duration.String), the format of
// every duration flag and of durations echoed back to users (cli.md §2).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::host {

// Parses Go's `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` exactly as time.ParseDuration:
// units ns, us, µs (U+00B5), μs (U+03BC), ms, s, m, h; "0" (optionally signed)
// is the only unit-less value. nullopt on any syntax error or int64 overflow.
std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view text);

// Go's Duration.String: "0s", "250ms", "1.5µs", "1m30s", "2h0m0s", "-2s".
std::string format_go_duration(std::chrono::nanoseconds d);

}  // namespace avenor::host
