// Typed access to JSON-RPC params for control methods (control.md §2, §5):
// absent or null → the fallback; a value of the wrong type → -32602.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "control/rpc_error.hpp"
#include "util/utf8.hpp"

namespace avenor::host::rpc_params {

inline std::string opt_string(const boost::json::object& p, const char* key) {
  const auto* v = p.if_contains(key);
  if (!v || v->is_null()) return {};
  if (!v->is_string()) throw RpcError::invalid_params();
  return std::string(v->get_string());
}

inline bool opt_bool(const boost::json::object& p, const char* key) {
  const auto* v = p.if_contains(key);
  if (!v || v->is_null()) return false;
  if (!v->is_bool()) throw RpcError::invalid_params();
  return v->get_bool();
}

inline std::optional<std::int64_t> opt_int(const boost::json::object& p, const char* key) {
  const auto* v = p.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  // An integral double within int64 (casting one outside it is undefined).
  if (v->is_double() && v->get_double() >= -0x1p63 && v->get_double() < 0x1p63 &&
      v->get_double() == static_cast<double>(static_cast<std::int64_t>(v->get_double())))
    return static_cast<std::int64_t>(v->get_double());
  throw RpcError::invalid_params();
}

// The optional `message` of answer_permission (control.md §6.2): a string of
// valid UTF-8, at most 64 KiB; otherwise -32602 with a detail.
inline std::optional<std::string> permission_message(const boost::json::object& p) {
  constexpr std::size_t kMaxMessageBytes = 64 * 1024;
  const auto* m = p.if_contains("message");
  if (!m || m->is_null()) return std::nullopt;
  if (!m->is_string()) throw RpcError::detail("message must be a string");
  std::string_view text = m->get_string();
  if (!is_valid_utf8(text)) throw RpcError::detail("message is not valid UTF-8");
  if (text.size() > kMaxMessageBytes) throw RpcError::detail("message exceeds 65536 bytes");
  return std::string(text);
}

// request_id and option_id of answer_permission: strings, both required.
inline std::pair<std::string, std::string> permission_ids(const boost::json::object& p) {
  const auto* rid = p.if_contains("request_id");
  const auto* oid = p.if_contains("option_id");
  if ((rid && !rid->is_null() && !rid->is_string()) ||
      (oid && !oid->is_null() && !oid->is_string()))
    throw RpcError::invalid_params();
  std::string request_id = opt_string(p, "request_id");
  std::string option_id = opt_string(p, "option_id");
  if (request_id.empty() || option_id.empty())
    throw RpcError::required({"request_id", "option_id"});
  return {std::move(request_id), std::move(option_id)};
}

}  // namespace avenor::host::rpc_params
