// file.read, file.write, file.remove, file.temp_dir: small synchronous file
// operations for plugins (a transcript tail, a config file). Each returns the
// JSON result or throws std::runtime_error with a one-line message.
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

namespace avenor::host {

// True when `service` is one of the file services.
bool is_file_service(std::string_view service);

boost::json::object run_file_service(std::string_view service, const boost::json::object& request);

}  // namespace avenor::host
