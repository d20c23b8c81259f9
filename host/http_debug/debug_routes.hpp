// The routes of the HTTP debug adapter (control.md §9 table) as plain
// functions of the request, independent of sockets: which route a path
// names, which method it takes, and the response of every route but the
// /events stream.
#pragma once

#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "http_debug/debug_target.hpp"

namespace avenor::host {

enum class DebugRoute {
  unknown,
  status,             // GET /status
  runtime_status,     // GET /status/<runtime_id>
  events,             // GET /events
  cancel,             // POST /cancel
  cancel_runtime,     // POST /cancel/<runtime_id>
  answer_permission,  // POST /answer-permission
};

struct DebugRouteMatch {
  DebugRoute route = DebugRoute::unknown;
  std::string runtime_id;  // for the runtime-scoped routes; may be empty
};

// `path` is percent-decoded, without the query.
DebugRouteMatch match_debug_route(std::string_view path);
boost::beast::http::verb debug_route_method(DebugRoute route);

struct DebugResponse {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string content_type;
  std::string body;
  std::string allow;  // the Allow header of a 405
};

// Error bodies are plain-text lines (like Go's http.Error).
DebugResponse text_response(boost::beast::http::status status, std::string_view text);
// Compact JSON plus a newline.
DebugResponse json_response(boost::beast::http::status status, const boost::json::object& body);

// Every route except unknown and events; the request already passed the
// method, token and peer checks.
DebugResponse handle_debug_route(const DebugRouteMatch& match, std::string_view body,
                                 DebugTarget& target);

}  // namespace avenor::host
