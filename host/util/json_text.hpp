// JSON text output matching Go's encoding/json, so files and logs written by
// avenor look the same as the Go implementation's: numbers in Go's shortest
// form (1.5, 1e-7, 1e+21; integral values without a decimal point) rather
// than Boost's "1.5E0", and MarshalIndent's layout for pretty output. The
// output is valid UTF-8 whatever the value holds (bad bytes become U+FFFD,
// non-finite numbers null): the encoder is sdk/json_text.hpp.
#pragma once

#include <boost/json.hpp>
#include <string>

namespace avenor::host {

// Compact JSON, no whitespace. Object keys keep their insertion order.
std::string to_compact_json(const boost::json::value& v);

// Appends compact JSON of an object to `out` (no copy of the object).
void append_compact_json(std::string& out, const boost::json::object& o);

// Go json.MarshalIndent(v, "", "  ") layout: one member per line, `"key": value`,
// empty arrays/objects as `[]`/`{}`. No trailing newline.
std::string to_pretty_json(const boost::json::value& v);

}  // namespace avenor::host
