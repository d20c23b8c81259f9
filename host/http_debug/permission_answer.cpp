#include "http_debug/permission_answer.hpp"

#include <boost/json/parse.hpp>

#include "util/utf8.hpp"

namespace avenor::host {

std::variant<PermissionAnswer, PermissionAnswerError> parse_permission_answer(
    std::string_view body) {
  // Raw invalid UTF-8 is let through the parser so that a bad `message`
  // is reported as a bad message rather than as bad JSON.
  boost::json::parse_options opts;
  opts.allow_invalid_utf8 = true;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec, {}, opts);
  if (ec || !v.is_object()) return PermissionAnswerError::invalid_json;
  const auto& o = v.get_object();

  PermissionAnswer out;
  for (auto [key, field] :
       {std::pair{"request_id", &out.request_id}, std::pair{"option_id", &out.option_id}}) {
    const auto* id = o.if_contains(key);
    if (!id || !id->is_string() || id->get_string().empty())
      return PermissionAnswerError::invalid_json;
    *field = std::string(id->get_string());
  }

  // An explicit null is the same as no message.
  if (const auto* m = o.if_contains("message"); m && !m->is_null()) {
    if (!m->is_string()) return PermissionAnswerError::invalid_message;
    std::string_view text = m->get_string();
    if (text.size() > kMaxPermissionMessageBytes || !is_valid_utf8(text))
      return PermissionAnswerError::invalid_message;
    out.message = std::string(text);
  }
  return out;
}

}  // namespace avenor::host
