// What the claude-channel backend checks before it starts anything
// (backends.md §7.1): Claude Code's version and, with thinking, --effort.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace avenor::claude_channel {

// The minimum Claude Code with channels.
inline constexpr int kMinVersion[3] = {2, 1, 80};

// Checks `claude --version` output ("2.1.197 (Claude Code)"). nullopt when
// it is fine, else the error message.
std::optional<std::string> check_claude_version(std::string_view output);

// `claude --help` lists "--effort <level>".
bool help_lists_effort(std::string_view help);

}  // namespace avenor::claude_channel
