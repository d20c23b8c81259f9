#include "util/json_number.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace avenor::host {

std::optional<std::int64_t> json_int64(const boost::json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) {
    return static_cast<std::int64_t>(
        std::min<std::uint64_t>(v->get_uint64(), std::numeric_limits<std::int64_t>::max()));
  }
  if (v->is_double()) {
    const double d = v->get_double();
    if (std::isnan(d)) return std::nullopt;  // casting NaN would be UB
    if (d >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
    if (d <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

}  // namespace avenor::host
