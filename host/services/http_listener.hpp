// http.listen + http.respond: a loopback HTTP server whose requests go to the
// plugin as JSON messages and whose responses come back from it (the relay a
// backend's sidecar talks to, for example). Loopback addresses only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "services/service_call.hpp"

namespace avenor::host {

struct HttpListenerReply {
  unsigned status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
};

// Requests waiting for the plugin's answer, across all listeners of one
// plugin instance, by request id.
class HttpListenerRegistry {
 public:
  using Responder = std::function<void(HttpListenerReply)>;

  void add(const std::string& request_id, Responder responder) {
    waiting_[request_id] = std::move(responder);
  }
  void drop(const std::string& request_id) { waiting_.erase(request_id); }
  // Throws std::runtime_error for an unknown (or already answered) id.
  void respond(const boost::json::object& reply);

 private:
  std::map<std::string, Responder> waiting_;
};

// Throws std::runtime_error for a malformed request or a non-loopback host;
// a bind failure ends the call with an error.
std::unique_ptr<ServiceCall> start_http_listener(boost::asio::io_context& io,
                                                 const boost::json::object& request,
                                                 std::uint64_t call_id,
                                                 HttpListenerRegistry& registry, CallSink sink);

}  // namespace avenor::host
