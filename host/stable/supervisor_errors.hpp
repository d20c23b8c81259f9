// The -32000 handler errors the supervisor answers with (control.md §10.3),
// worded like the spec: `runtime "rt_9" not found`.
#pragma once

#include <string>

#include "control/rpc_error.hpp"

namespace avenor::host {

inline RpcError handler_error(const std::string& message) {
  return RpcError(rpc_code::handler_error, message);
}

inline std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

}  // namespace avenor::host
