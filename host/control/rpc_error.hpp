// A JSON-RPC error a control method answers with (control.md §5).
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace avenor::host {

namespace rpc_code {
constexpr int parse_error = -32700;
constexpr int invalid_request = -32600;
constexpr int method_not_found = -32601;
constexpr int invalid_params = -32602;
constexpr int handler_error = -32000;
constexpr int no_pending_permission = -32001;
constexpr int permission_denied = -32010;
constexpr int wait_turn_timeout = -32020;
constexpr int idempotency_capacity = -32030;
constexpr int capacity = -32050;
}  // namespace rpc_code

class RpcError : public std::runtime_error {
 public:
  RpcError(int code, const std::string& message, std::optional<boost::json::value> data = {})
      : std::runtime_error(message), code_(code), data_(std::move(data)) {}

  int code() const { return code_; }
  const std::optional<boost::json::value>& data() const { return data_; }

  static RpcError method_not_found() { return {rpc_code::method_not_found, "method not found"}; }
  static RpcError invalid_params() { return {rpc_code::invalid_params, "invalid params"}; }
  // -32602 with data {"required":[fields…]}.
  static RpcError required(std::initializer_list<const char*> fields);
  // -32602 with data {"detail":text}.
  static RpcError detail(const std::string& text);

 private:
  int code_;
  std::optional<boost::json::value> data_;
};

inline RpcError RpcError::required(std::initializer_list<const char*> fields) {
  boost::json::array names;
  for (const char* f : fields) names.emplace_back(f);
  return {rpc_code::invalid_params, "invalid params", boost::json::object{{"required", names}}};
}

inline RpcError RpcError::detail(const std::string& text) {
  return {rpc_code::invalid_params, "invalid params", boost::json::object{{"detail", text}}};
}

}  // namespace avenor::host
