#include "permissions/pending_notice.hpp"

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/utf8_cut.hpp>

namespace avenor::host {

namespace {

namespace json = sdk::json;

constexpr std::size_t kMaxTitleBytes = 200;

std::string request_title(const boost::json::object& doc) {
  std::string title;
  if (const auto* payload = json::find_object(doc, "payload")) {
    if (const auto* call = json::find_object(*payload, "toolCall"))
      title = json::string_or(*call, "title");
  }
  for (const char* key : {"tool", "question"})
    if (title.empty()) title = json::string_or(doc, key);
  if (title.empty()) return "(untitled request)";
  for (char& c : title)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return sdk::excerpt(title, kMaxTitleBytes);
}

std::string option_list(const boost::json::object& doc) {
  std::string list;
  if (const auto* options = json::find_array(doc, "options")) {
    for (const auto& v : *options) {
      const auto* o = v.if_object();
      if (!o) continue;
      if (!list.empty()) list += ", ";
      list += json::string_or(*o, "optionId") + " (" + json::string_or(*o, "kind") + ")";
    }
  }
  return list.empty() ? "none" : list;
}

}  // namespace

std::string shell_quote(std::string_view text) {
  auto plain = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("@%+=:,./_-").find(c) != std::string_view::npos;
  };
  bool quote = text.empty();
  for (char c : text) quote = quote || !plain(c);
  if (!quote) return std::string(text);
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string pending_permission_notice(const boost::json::object& doc,
                                      const std::filesystem::path& base) {
  std::error_code ec;
  std::filesystem::path where = std::filesystem::absolute(base, ec);
  if (ec) where = base;
  return "avenor: permission " + json::string_or(doc, "request_id") +
         " pending: " + request_title(doc) + " — options: " + option_list(doc) +
         "; answer with: avenor answer " + shell_quote(where.lexically_normal().string()) +
         " --option <id>";
}

}  // namespace avenor::host
