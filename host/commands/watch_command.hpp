// `avenor watch <log>` (cli.md §5, events.md §8): reads or tails an NDJSON
// event log and prints a digest (plain), or passes the JSON through;
// optionally classifies, accumulates chunks and keeps a byte-offset cursor.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

// `args` are the words after "watch". Returns 0 on success, 2 for usage,
// open and cursor errors, 1 when stdout (or the cursor) cannot be written.
int watch_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace avenor::host
