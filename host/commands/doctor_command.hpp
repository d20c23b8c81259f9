// `avenor doctor` (cli.md §11): is each backend's CLI there, and does it run?
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace avenor::host {

int doctor_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace avenor::host
