// A JSON-RPC 2.0 endpoint that is both client and server, as stdio agent
// protocols need (the agent sends requests back: permissions, fs, ...). It
// owns no transport: frames come in through receive(), messages go out through
// a write function as one compact JSON object plus "\n".
#pragma once

#include <avenor/sdk/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace avenor::sdk {

// Standard JSON-RPC error codes, plus one local code that never goes on the wire.
namespace rpc_code {
inline constexpr std::int64_t parse_error = -32700;
inline constexpr std::int64_t invalid_request = -32600;
inline constexpr std::int64_t method_not_found = -32601;
inline constexpr std::int64_t invalid_params = -32602;
inline constexpr std::int64_t internal_error = -32603;
// A request failed locally by fail_all (transport closed), not by the peer.
inline constexpr std::int64_t transport_closed = -32099;
}  // namespace rpc_code

// A JSON-RPC error object: {code, message, data?}; `data` is null when absent.
struct RpcError {
  std::int64_t code = 0;
  std::string message;
  boost::json::value data;
};

// What a request's callback receives: the peer's result, or an error (from the
// peer, or local when the request was failed by fail_all).
struct RpcOutcome {
  boost::json::value result;  // null on error
  std::optional<RpcError> error;

  bool ok() const { return !error.has_value(); }
};

struct JsonRpcOptions {
  // false: omit "jsonrpc":"2.0" on output and don't require it on input
  // (codex app-server speaks JSON-RPC without the version field).
  bool version_field = true;
  // When set, an outgoing request's id is the string this returns for the
  // request's sequence number (1, 2, ...) instead of that number itself, for
  // peers whose clients use string ids (codex: "<unix nanos>-<counter>").
  // Each returned string must be unique among the pending requests.
  std::function<std::string(std::int64_t sequence)> string_ids = nullptr;
};

// A request id (number or string) as text, e.g. for an event's request_id.
inline std::string rpc_id_to_string(const boost::json::value& id) {
  if (id.is_string()) return std::string(id.get_string());
  return json::dump(id);
}

class JsonRpcPeer {
 public:
  using WriteFn = std::function<void(std::string_view bytes)>;
  using ResponseCallback = std::function<void(RpcOutcome outcome)>;
  // `id` is the request's id exactly as received; pass it back to respond().
  using RequestHandler = std::function<void(const boost::json::value& id, std::string_view method,
                                            const boost::json::value& params)>;
  using NotificationHandler =
      std::function<void(std::string_view method, const boost::json::value& params)>;

  explicit JsonRpcPeer(WriteFn write, JsonRpcOptions options = {})
      : write_(std::move(write)), options_(options) {}

  // --- outgoing -------------------------------------------------------------

  // Sends a request; `callback` runs once, with the response or a fail_all
  // error. A null `params` is omitted. Returns the request's sequence number,
  // which is also its id unless JsonRpcOptions::string_ids is set.
  std::int64_t request(std::string_view method, boost::json::value params,
                       ResponseCallback callback) {
    std::int64_t id = next_id_++;
    boost::json::object message = envelope();
    if (options_.string_ids) {
      std::string text = options_.string_ids(id);
      message["id"] = text;
      string_ids_.insert_or_assign(std::move(text), id);
    } else {
      message["id"] = id;
    }
    message["method"] = method;
    if (!params.is_null()) message["params"] = std::move(params);
    pending_.emplace(id, std::move(callback));
    send(message);
    return id;
  }

  void notify(std::string_view method, boost::json::value params = nullptr) {
    boost::json::object message = envelope();
    message["method"] = method;
    if (!params.is_null()) message["params"] = std::move(params);
    send(message);
  }

  void respond(const boost::json::value& id, boost::json::value result) {
    boost::json::object message = envelope();
    message["id"] = id;
    message["result"] = std::move(result);
    send(message);
  }

  void respond_error(const boost::json::value& id, std::int64_t code, std::string_view text,
                     boost::json::value data = nullptr) {
    boost::json::object error{{"code", code}, {"message", text}};
    if (!data.is_null()) error["data"] = std::move(data);
    boost::json::object message = envelope();
    message["id"] = id;
    message["error"] = std::move(error);
    send(message);
  }

  // Fails every pending request with `reason` (code rpc_code::transport_closed),
  // in the order they were sent.
  void fail_all(std::string_view reason) {
    string_ids_.clear();
    auto pending = std::exchange(pending_, {});
    for (auto& [id, callback] : pending) {
      if (callback)
        callback(RpcOutcome{nullptr,
                            RpcError{rpc_code::transport_closed, std::string(reason), nullptr}});
    }
  }

  std::size_t pending() const { return pending_.size(); }

  // --- incoming -------------------------------------------------------------

  // Handlers for one method. A request without one goes to the fallback, or is
  // answered method_not_found; a notification without one is dropped.
  void on_request(std::string method, RequestHandler handler) {
    request_handlers_[std::move(method)] = std::move(handler);
  }
  void on_notification(std::string method, NotificationHandler handler) {
    notification_handlers_[std::move(method)] = std::move(handler);
  }
  void on_any_request(RequestHandler handler) { request_fallback_ = std::move(handler); }
  void on_any_notification(NotificationHandler handler) {
    notification_fallback_ = std::move(handler);
  }
  // Diagnostics that are not errors (e.g. a response nobody waits for).
  void on_warning(std::function<void(std::string_view)> warn) { warn_ = std::move(warn); }

  // Decodes and dispatches one frame. Returns an error message when the frame
  // is not a JSON-RPC message at all; the caller decides how fatal that is.
  // Decoding is lenient (json::Parser): a lone surrogate or a bad byte in a
  // string costs that character (U+FFFD), not the message.
  [[nodiscard]] std::optional<std::string> receive(std::string_view frame) {
    boost::system::error_code ec;
    boost::json::value value = parser_.parse(frame, ec);
    if (ec) return "invalid JSON: " + ec.message();
    boost::json::object* message = value.if_object();
    if (!message) return std::string("not a JSON object");
    if (options_.version_field) {
      const boost::json::value* version = json::find(*message, "jsonrpc");
      if (!version || !version->is_string() || version->get_string() != "2.0")
        return std::string("missing \"jsonrpc\":\"2.0\"");
    }

    const boost::json::value* method = json::find(*message, "method");
    const boost::json::value* id = json::find(*message, "id");
    const boost::json::value no_params;
    const boost::json::value* params = json::find(*message, "params");
    if (!params) params = &no_params;

    if (method) {
      if (!method->is_string()) return std::string("\"method\" is not a string");
      std::string_view name = method->get_string();
      if (!id) {
        dispatch_notification(name, *params);
        return std::nullopt;
      }
      // An id of 0 is a real id (agents number their requests from 0).
      if (!id->is_number() && !id->is_string())
        return std::string("request id is neither a number nor a string");
      // 1e400 parses as infinity, which no response could echo as JSON.
      if (id->is_double() && !std::isfinite(id->get_double()))
        return std::string("request id is not a finite number");
      dispatch_request(*id, name, *params);
      return std::nullopt;
    }
    if (id && (message->contains("result") || message->contains("error"))) {
      dispatch_response(*id, *message);
      return std::nullopt;
    }
    return std::string("neither a request, a response nor a notification");
  }

 private:
  boost::json::object envelope() const {
    boost::json::object message;
    if (options_.version_field) message["jsonrpc"] = "2.0";
    return message;
  }

  void send(const boost::json::object& message) {
    std::string text = json::dump(message);
    text.push_back('\n');
    write_(text);
  }

  void dispatch_request(const boost::json::value& id, std::string_view method,
                        const boost::json::value& params) {
    if (auto it = request_handlers_.find(method); it != request_handlers_.end())
      return it->second(id, method, params);
    if (request_fallback_) return request_fallback_(id, method, params);
    respond_error(id, rpc_code::method_not_found, "method not found: " + std::string(method));
  }

  void dispatch_notification(std::string_view method, const boost::json::value& params) {
    if (auto it = notification_handlers_.find(method); it != notification_handlers_.end())
      return it->second(method, params);
    if (notification_fallback_) notification_fallback_(method, params);
  }

  void dispatch_response(const boost::json::value& id, const boost::json::object& message) {
    std::optional<std::int64_t> key = options_.string_ids ? string_id_key(id) : our_id(id);
    auto it = key ? pending_.find(*key) : pending_.end();
    if (it == pending_.end()) {
      // e.g. {"id":null,"error":...} for a request the peer could not parse.
      warn("response for no pending request (id " + json::dump(id) + "): " + json::dump(message));
      return;
    }
    // Erase before calling: the callback may send requests of its own.
    ResponseCallback callback = std::move(it->second);
    pending_.erase(it);

    RpcOutcome outcome;
    if (const boost::json::value* error = json::find(message, "error");
        error && !error->is_null()) {
      outcome.error = decode_error(*error);
    } else if (const boost::json::value* result = json::find(message, "result")) {
      outcome.result = *result;
    }
    if (callback) callback(std::move(outcome));
  }

  // The sequence number of a string id we sent (forgotten once answered).
  std::optional<std::int64_t> string_id_key(const boost::json::value& id) {
    if (!id.is_string()) return std::nullopt;
    auto it = string_ids_.find(std::string_view(id.get_string()));
    if (it == string_ids_.end()) return std::nullopt;
    std::int64_t key = it->second;
    string_ids_.erase(it);
    return key;
  }

  // Our ids are integers; a peer echoing one back as a double or a decimal
  // string still means the same request.
  static std::optional<std::int64_t> our_id(const boost::json::value& id) {
    if (id.is_int64()) return id.get_int64();
    if (id.is_uint64()) return static_cast<std::int64_t>(id.get_uint64());
    if (id.is_double()) {
      double d = id.get_double();
      // Out of int64's range (or NaN) it is none of ours, and the cast is UB.
      if (!(d >= -0x1p63 && d < 0x1p63)) return std::nullopt;
      auto n = static_cast<std::int64_t>(d);
      if (static_cast<double>(n) == d) return n;
      return std::nullopt;
    }
    if (id.is_string()) {
      std::string_view s = id.get_string();
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec == std::errc{} && end == s.data() + s.size() && !s.empty()) return n;
    }
    return std::nullopt;
  }

  // Lenient on purpose: a sloppy error object still fails the request with
  // whatever text it carries rather than passing as a success.
  static RpcError decode_error(const boost::json::value& error) {
    RpcError e{rpc_code::internal_error, {}, nullptr};
    const boost::json::object* o = error.if_object();
    if (!o) {
      e.message = error.is_string() ? std::string(error.get_string()) : json::dump(error);
      return e;
    }
    if (auto code = json::find_int(*o, "code")) e.code = *code;
    e.message = json::string_or(*o, "message");
    if (const boost::json::value* data = json::find(*o, "data")) e.data = *data;
    if (e.message.empty()) e.message = json::dump(error);
    return e;
  }

  void warn(const std::string& text) const {
    if (warn_) warn_(text);
  }

  WriteFn write_;
  JsonRpcOptions options_;
  json::Parser parser_;  // one parser's memory for every frame
  std::int64_t next_id_ = 1;
  std::map<std::int64_t, ResponseCallback> pending_;
  std::map<std::string, std::int64_t, std::less<>> string_ids_;  // with options_.string_ids
  std::map<std::string, RequestHandler, std::less<>> request_handlers_;
  std::map<std::string, NotificationHandler, std::less<>> notification_handlers_;
  RequestHandler request_fallback_;
  NotificationHandler notification_fallback_;
  std::function<void(std::string_view)> warn_;
};

}  // namespace avenor::sdk
