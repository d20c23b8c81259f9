// How a JSON value prints inside a plain-format excerpt (events.md §8.3):
// strings as they are, numbers in shortest form (integral values without a
// decimal point, 1.5, 1e+21 from 1e21 up), a missing key or null as `<nil>`,
// arrays and objects the way Go's %v prints them (`[a b]`, `map[k:v]`).
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace avenor::host::watch {

// `value` may be null (a missing key).
std::string value_text(const boost::json::value* value);

}  // namespace avenor::host::watch
