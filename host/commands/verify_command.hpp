// `avenor verify --loop-file <path> [--dir <dir>]` (cli.md §9): loads a loop
// file the way `avenor run --loop-file` does — prompt files read, every nested
// loop_file followed — and reports each file, without starting anything.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

// `args` are the words after "verify". Prints every "error: <path>: <message>"
// line to `err` first, then "ok: <path>" for each valid file to `out`. Returns
// 0 when everything is valid, 1 for any error, a missing --loop-file or bad flags.
int verify_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace avenor::host
