// The method table behind a control socket. The server owns transport,
// framing and ownership bookkeeping; a ControlMethods implementation (the
// single run here, the supervisor later) decides what each method does.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <string>

namespace avenor::host {

class ControlConnection;

// What a method may do to its caller's connection.
class CallContext {
 public:
  virtual ~CallContext() = default;
  virtual ControlConnection& connection() = 0;
  // Makes the caller the owner if nobody is; throws RpcError -32010
  // `permission_denied` when another connection owns the server (control.md §4).
  virtual void claim_owner() = 0;
  // Runs `action` right after the response has been queued (subscribe
  // replays events only after `{"subscribed":true}`).
  virtual void after_response(std::function<void()> action) = 0;
};

class ControlMethods {
 public:
  virtual ~ControlMethods() = default;
  // Returns the result, or throws RpcError.
  virtual boost::asio::awaitable<boost::json::value> call(CallContext& ctx,
                                                          const std::string& method,
                                                          const boost::json::object& params) = 0;
  // An asynchronous method's response is written whenever it completes while
  // the connection goes on with its next requests (control.md §3: wait_turn).
  virtual bool is_async(const std::string& /*method*/) const { return false; }
  virtual void connection_opened(ControlConnection&) {}
  virtual void connection_closed(ControlConnection&) {}
};

}  // namespace avenor::host
