// Permission requests of opencode's HTTP API and the answers avenor sends
// back (backends.md §2.2, §2.3, §0.4). opencode offers no option list of its
// own; it takes a reply "once" | "always" | "reject", so the options avenor
// shows are synthesized and every chosen option maps onto one of those.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <boost/json.hpp>
#include <string>
#include <string_view>

namespace avenor::opencode_http {

// [{reject,reject}, {allow_once,allow_once}, {<request_id>,allow_once},
//  {allow_always,allow_always} (only when `offers_always`)] as
// {optionId, kind, name} objects.
boost::json::array synthesized_options(std::string_view request_id, bool offers_always);

// The reply to send, or why the answer does not fit the offered options.
struct PermissionReply {
  std::string reply;  // "once" | "always" | "reject"
  std::string error;
  explicit operator bool() const { return error.empty(); }
};

// §0.4: the caller's option when named (it must be offered and of the
// wanted kind), else the first offered option of the wanted kind. A
// cancelled answer is a reject. Reply: reject for a deny; "always" for an
// allow through option allow_always/always; else "once".
PermissionReply choose_reply(const boost::json::array& options,
                             const sdk::PermissionAnswer& answer);

// The fallback route's body: {reply, response:<reply>, remember:<reply=="always">}.
boost::json::object fallback_reply_body(std::string_view reply);

}  // namespace avenor::opencode_http
