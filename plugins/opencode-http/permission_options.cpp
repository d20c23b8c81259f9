#include "permission_options.hpp"

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/option_kinds.hpp>

namespace avenor::opencode_http {

namespace json = sdk::json;
using sdk::OptionKind;

namespace {

boost::json::object option(std::string_view id, std::string_view kind, std::string_view name) {
  return {{"optionId", id}, {"kind", kind}, {"name", name}};
}

OptionKind kind_of(const boost::json::object& o) {
  return sdk::normalize_option_kind(json::string_or(o, "kind"));
}

std::string reply_for(OptionKind wanted, std::string_view option_id) {
  if (wanted == OptionKind::reject) return "reject";
  return option_id == "allow_always" || option_id == "always" ? "always" : "once";
}

}  // namespace

boost::json::array synthesized_options(std::string_view request_id, bool offers_always) {
  boost::json::array options{option("reject", "reject", "Reject"),
                             option("allow_once", "allow_once", "Allow once"),
                             option(request_id, "allow_once", "Allow this request")};
  if (offers_always) options.push_back(option("allow_always", "allow_always", "Always allow"));
  return options;
}

PermissionReply choose_reply(const boost::json::array& options,
                             const sdk::PermissionAnswer& answer) {
  if (answer.cancelled) return {"reject", {}};
  const OptionKind wanted = answer.allow ? OptionKind::allow : OptionKind::reject;
  const std::string wanted_name(sdk::to_string(wanted));
  if (!answer.option_id.empty()) {
    for (const auto& v : options) {
      const auto* o = v.if_object();
      if (!o || json::string_or(*o, "optionId") != answer.option_id) continue;
      if (kind_of(*o) != wanted)
        return {{},
                "permission option " + answer.option_id + " is of kind " +
                    std::string(sdk::to_string(kind_of(*o))) + ", not " + wanted_name};
      return {reply_for(wanted, answer.option_id), {}};
    }
    return {{}, "permission option not found: " + answer.option_id};
  }
  for (const auto& v : options) {
    const auto* o = v.if_object();
    if (o && kind_of(*o) == wanted) return {reply_for(wanted, json::string_or(*o, "optionId")), {}};
  }
  return {{}, "permission request has no " + wanted_name + " option"};
}

boost::json::object fallback_reply_body(std::string_view reply) {
  return {{"reply", reply}, {"response", reply}, {"remember", reply == "always"}};
}

}  // namespace avenor::opencode_http
