// One plain-format line (events.md §8.3): `EVENT <event> <session> <excerpt>`,
// exactly one space between the parts even when they are empty.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::host::watch {

// The line without its '\n'; nullopt for an object without an `event`
// string (no output). With `classify` the line starts with `<TAG> `.
std::optional<std::string> format_plain_line(const boost::json::object& event, bool classify);

// `EVENT <type> <session> <text>` from already prepared parts.
std::string plain_line(std::string_view type, std::string_view session, std::string_view text);

}  // namespace avenor::host::watch
