// process.run: a short-lived command run to completion, stdout and stderr
// captured (bounded), killed at its timeout.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <memory>

#include "services/service_call.hpp"

namespace avenor::host {

// Throws std::runtime_error for a malformed request or a command that cannot start.
std::unique_ptr<ServiceCall> start_process_call(boost::asio::io_context& io,
                                                const boost::json::object& request, CallSink sink);

}  // namespace avenor::host
