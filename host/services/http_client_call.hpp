// http.request: one HTTP/1.1 exchange over a fresh connection, either with
// the whole body in the result or with the body streamed as it arrives
// (server-sent events). http:// only; the plugin decides where to connect.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <memory>

#include "services/service_call.hpp"

namespace avenor::host {

// Throws std::runtime_error for a malformed request (bad URL, method).
std::unique_ptr<ServiceCall> start_http_call(boost::asio::io_context& io,
                                             const boost::json::object& request, CallSink sink);

}  // namespace avenor::host
