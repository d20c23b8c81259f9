// The request-target of an HTTP request split into a percent-decoded path and
// query parameters, so routes compare decoded runtime ids and tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::host {

struct RequestTarget {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;

  // The first value of `name` (as url.Values.Get), or nullopt if absent.
  std::optional<std::string> query_value(std::string_view name) const;
};

// nullopt when the target is not origin-form ("/…") or has a bad %-escape.
std::optional<RequestTarget> parse_request_target(std::string_view target);

}  // namespace avenor::host
