// Reading a JSON number as an int64 the way the event envelope needs it
// (`ts`, `seq`: events.md §2 accepts integer, float or any JSON number).
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>

namespace avenor::host {

// Floats truncate, out-of-range values clamp; nullopt for a missing value
// or anything that is not a number.
std::optional<std::int64_t> json_int64(const boost::json::value* v);

}  // namespace avenor::host
