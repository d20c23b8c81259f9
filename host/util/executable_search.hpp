// Finding a backend's CLI the way a shell would: the first executable file of
// that name on PATH.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace avenor::host {

std::optional<std::filesystem::path> find_on_path(std::string_view name);

}  // namespace avenor::host
