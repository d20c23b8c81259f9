// Internal to structured_text.cpp: one converter per non-JSON format, each in
// its own file so only it includes its parser library.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace avenor::host::detail {

boost::json::value yaml_to_json(std::string_view text);
boost::json::value toml_to_json(std::string_view text);

// "line L, column C: <message>" (1-based), the prefix every converter uses.
std::string at_position(long line, long column, std::string_view message);

}  // namespace avenor::host::detail
