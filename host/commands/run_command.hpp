// `avenor run` (cli.md §3): flags, validation, startup, then the run engine;
// the sentinel is written on every exit after a successful flag parse.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

int run_main(const std::vector<std::string>& args, std::ostream& err);

}  // namespace avenor::host
