// `avenor answer <perm-base>` (cli.md §4, events.md §7.6): answers a pending
// file-based permission request by writing `<base>.req.response`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

// `args` are the words after "answer". Flags precede the positional base
// (Go flag rules): `avenor answer --option allow run.perm`.
// Returns 0 on success (prints nothing), 2 for usage/validation errors
// (including an existing response without --force), 1 for I/O failures.
int answer_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace avenor::host
