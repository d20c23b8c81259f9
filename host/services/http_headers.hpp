// Beast header fields as the JSON object the HTTP services hand to plugins:
// names lower-cased (HTTP names are case-insensitive), values verbatim.
#pragma once

#include <boost/json/object.hpp>
#include <cctype>
#include <string>

namespace avenor::host {

template <class Fields>
boost::json::object header_object(const Fields& fields) {
  boost::json::object headers;
  for (const auto& f : fields) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers[name] = std::string(f.value());
  }
  return headers;
}

}  // namespace avenor::host
