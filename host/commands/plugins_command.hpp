// `avenor plugins` (cli.md §10): what backend plugins this host loads.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

int plugins_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace avenor::host
