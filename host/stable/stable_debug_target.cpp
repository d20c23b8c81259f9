#include "stable/stable_debug_target.hpp"

#include <boost/asio/co_spawn.hpp>

#include "control/rpc_error.hpp"

namespace avenor::host {

DebugReply StableDebugTarget::runtime_status(const std::string& runtime_id) {
  if (runtime_id.empty())
    return DebugReply::error(DebugReply::Kind::bad_request, "runtime_id required");
  try {
    return DebugReply::ok(supervisor_.status(runtime_id));
  } catch (const RpcError& e) {
    const std::string message = e.what();
    if (message.ends_with("not found"))
      return DebugReply::error(DebugReply::Kind::not_found, "runtime not found");
    return DebugReply::error(DebugReply::Kind::failed, message);
  }
}

DebugReply StableDebugTarget::cancel() {
  return DebugReply::error(DebugReply::Kind::bad_request,
                           "runtime_id required in stable mode; use POST /cancel/<runtime_id>");
}

DebugReply StableDebugTarget::cancel_runtime(const std::string& runtime_id) {
  try {
    supervisor_.status(runtime_id);  // unknown → 404
  } catch (const RpcError&) {
    return DebugReply::error(DebugReply::Kind::not_found, "runtime not found");
  }
  boost::asio::co_spawn(io_, supervisor_.cancel(runtime_id), [](std::exception_ptr) {});
  return DebugReply::ok({{"ok", true}});
}

}  // namespace avenor::host
