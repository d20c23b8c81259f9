#include "util/json_text.hpp"

#include <avenor/sdk/json_text.hpp>

namespace avenor::host {

// The one encoder lives in the SDK so plugin-serialised events and the host's
// own lines are byte-for-byte alike.
namespace text = sdk::json_text;

std::string to_compact_json(const boost::json::value& v) { return text::compact(v); }

void append_compact_json(std::string& out, const boost::json::object& o) {
  text::append_object(out, o);
}

std::string to_pretty_json(const boost::json::value& v) {
  std::string out;
  text::append_value(out, v, true, 0);
  return out;
}

}  // namespace avenor::host
