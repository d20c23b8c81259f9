#include "http_debug/debug_routes.hpp"

#include <optional>
#include <variant>

#include "http_debug/permission_answer.hpp"
#include "util/json_text.hpp"

namespace avenor::host {

namespace http = boost::beast::http;

DebugRouteMatch match_debug_route(std::string_view path) {
  auto scoped = [&](std::string_view prefix, DebugRoute route) -> std::optional<DebugRouteMatch> {
    if (!path.starts_with(prefix)) return std::nullopt;
    return DebugRouteMatch{route, std::string(path.substr(prefix.size()))};
  };
  if (path == "/status") return {DebugRoute::status, {}};
  if (path == "/events") return {DebugRoute::events, {}};
  if (path == "/cancel") return {DebugRoute::cancel, {}};
  if (path == "/answer-permission") return {DebugRoute::answer_permission, {}};
  if (auto m = scoped("/status/", DebugRoute::runtime_status)) return *m;
  if (auto m = scoped("/cancel/", DebugRoute::cancel_runtime)) return *m;
  return {};
}

http::verb debug_route_method(DebugRoute route) {
  switch (route) {
    case DebugRoute::status:
    case DebugRoute::runtime_status:
    case DebugRoute::events:
      return http::verb::get;
    case DebugRoute::cancel:
    case DebugRoute::cancel_runtime:
    case DebugRoute::answer_permission:
      return http::verb::post;
    case DebugRoute::unknown:
      break;
  }
  return http::verb::unknown;
}

DebugResponse text_response(http::status status, std::string_view text) {
  return {status, "text/plain; charset=utf-8", std::string(text) + "\n", {}};
}

DebugResponse json_response(http::status status, const boost::json::object& body) {
  std::string text;
  append_compact_json(text, body);
  text.push_back('\n');
  return {status, "application/json", std::move(text), {}};
}

namespace {

DebugResponse from_reply(const DebugReply& reply) {
  switch (reply.kind) {
    case DebugReply::Kind::ok:
      return json_response(http::status::ok, reply.body);
    case DebugReply::Kind::bad_request:
      return text_response(http::status::bad_request, reply.message);
    case DebugReply::Kind::not_found:
      return text_response(http::status::not_found, reply.message);
    case DebugReply::Kind::failed:
      break;
  }
  return json_response(http::status::internal_server_error, {{"error", reply.message}});
}

DebugResponse answer_permission(std::string_view body, DebugTarget& target) {
  auto parsed = parse_permission_answer(body);
  if (const auto* error = std::get_if<PermissionAnswerError>(&parsed))
    return text_response(http::status::bad_request, *error == PermissionAnswerError::invalid_json
                                                        ? "invalid json"
                                                        : "invalid permission message");
  const auto& answer = std::get<PermissionAnswer>(parsed);
  switch (target.answer_permission(answer.request_id, answer.option_id, answer.message)) {
    case AnswerStatus::accepted:
      return json_response(http::status::ok, {{"accepted", true}});
    case AnswerStatus::no_pending:
      return text_response(http::status::conflict, "no pending permission");
    case AnswerStatus::delegated:
      break;
  }
  return text_response(http::status::conflict, "permission handling delegated to provider");
}

}  // namespace

DebugResponse handle_debug_route(const DebugRouteMatch& match, std::string_view body,
                                 DebugTarget& target) {
  // A target that throws answers 500 rather than dropping the connection.
  try {
    switch (match.route) {
      case DebugRoute::status:
        return json_response(http::status::ok, target.status());
      case DebugRoute::runtime_status:
        return from_reply(target.runtime_status(match.runtime_id));
      case DebugRoute::cancel:
        return from_reply(target.cancel());
      case DebugRoute::cancel_runtime:
        return from_reply(target.cancel_runtime(match.runtime_id));
      case DebugRoute::answer_permission:
        return answer_permission(body, target);
      case DebugRoute::events:
      case DebugRoute::unknown:
        break;
    }
  } catch (const std::exception& e) {
    return json_response(http::status::internal_server_error, {{"error", e.what()}});
  }
  return text_response(http::status::not_found, "not found");
}

}  // namespace avenor::host
