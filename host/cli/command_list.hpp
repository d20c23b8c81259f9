// The commands of the avenor binary (cli.md §1) with one line each: what
// `avenor`, `avenor help` and `avenor --help` print, and how main() tells a
// command name from a mistyped one.
#pragma once

#include <string>
#include <string_view>

namespace avenor::host {

// True for a command name main() dispatches ("run", "answer", ...).
bool is_command_name(std::string_view word);

// The command list printed by `avenor help`: usage line, one line per
// command, and how to get a command's flags. Ends with a newline.
std::string command_list_text();

}  // namespace avenor::host
