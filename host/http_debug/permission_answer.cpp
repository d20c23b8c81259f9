#include "http_debug/permission_answer.hpp"

#include <boost/json/parse.hpp>

namespace avenor::host {

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) < len) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t i = 2; i < len; ++i)
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    p += len;
  }
  return true;
}

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
