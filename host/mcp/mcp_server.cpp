#include "mcp/mcp_server.hpp"

#include <boost/json.hpp>

#include "mcp/tool_runner.hpp"

namespace avenor::host::mcp {

namespace asio = boost::asio;
namespace bj = boost::json;

namespace {

// Newest first; a client asking for another version gets the newest.
constexpr std::string_view kVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
constexpr std::string_view kDefaultVersion = "2025-06-18";
// JSON nesting a request may have: tool arguments are flat.
constexpr std::size_t kMaxDepth = 64;

bj::object error_response(bj::value id, int code, std::string_view message) {
  return {
      {"jsonrpc", "2.0"}, {"id", std::move(id)}, {"error", {{"code", code}, {"message", message}}}};
}

bj::object result_response(bj::value id, bj::value result) {
  return {{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"result", std::move(result)}};
}

bj::object initialize_result(const bj::object& params) {
  std::string_view version = kDefaultVersion;
  if (const bj::value* asked = params.if_contains("protocolVersion"); asked && asked->is_string()) {
    for (auto v : kVersions)
      if (v == asked->get_string()) version = v;
  }
  return {{"protocolVersion", version},
          {"capabilities", {{"tools", {{"listChanged", false}}}}},
          {"serverInfo",
           {{"name", "avenor"}, {"title", "avenor"}, {"version", AVENOR_VERSION}}},
          {"instructions",
           "avenor starts coding agents as separate processes and lets you steer them: "
           "avenor_spawn starts one on a task (returns a run_id), avenor_result waits for its "
           "turn and returns the output, avenor_answer_permission answers a permission request "
           "it is waiting on, avenor_follow_up continues its session. Long waits return "
           "timed_out:true; call again."}};
}

bool valid_id(const bj::value& id) { return id.is_string() || id.is_int64() || id.is_uint64(); }

}  // namespace

McpServer::McpServer(ToolRunner& tools) : tools_(tools) {}

bj::object McpServer::oversize_error() {
  return error_response(nullptr, kInvalidRequest,
                        "message exceeds " + std::to_string(kMaxMessageBytes) + " bytes");
}

asio::awaitable<std::optional<bj::object>> McpServer::handle_text(std::string text, Notify notify) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) co_return std::nullopt;
  if (text.size() > kMaxMessageBytes) co_return oversize_error();
  bj::parse_options options;
  options.max_depth = kMaxDepth;
  boost::system::error_code ec;
  bj::value message = bj::parse(text, ec, {}, options);
  if (ec) co_return error_response(nullptr, kParseError, "Parse error: " + ec.message());
  if (message.is_array())
    co_return error_response(nullptr, kInvalidRequest,
                             "Invalid Request: batches are not supported");
  bj::object* o = message.if_object();
  if (o == nullptr) co_return error_response(nullptr, kInvalidRequest, "Invalid Request");
  const bj::value* id = o->if_contains("id");
  const bj::value* method = o->if_contains("method");
  if (method == nullptr) {
    // A response (to a request this server never sends) or junk.
    if (id != nullptr && (o->contains("result") || o->contains("error"))) co_return std::nullopt;
    co_return error_response(id != nullptr && valid_id(*id) ? *id : bj::value(nullptr),
                             kInvalidRequest, "Invalid Request: no method");
  }
  if (!method->is_string() || (id != nullptr && !valid_id(*id))) {
    co_return error_response(id != nullptr && valid_id(*id) ? *id : bj::value(nullptr),
                             kInvalidRequest, "Invalid Request");
  }
  if (id == nullptr) co_return std::nullopt;  // a notification: nothing to answer
  const bj::value* params = o->if_contains("params");
  if (params != nullptr && !params->is_object() && !params->is_null())
    co_return error_response(*id, kInvalidParams, "Invalid params: params must be an object");
  bj::object p = (params != nullptr && params->is_object()) ? params->get_object() : bj::object{};
  co_return co_await request(*id, std::string(method->get_string()), std::move(p),
                             std::move(notify));
}

asio::awaitable<bj::object> McpServer::request(bj::value id, std::string method, bj::object params,
                                               Notify notify) {
  if (method == "initialize") co_return result_response(std::move(id), initialize_result(params));
  if (method == "ping") co_return result_response(std::move(id), bj::object{});
  if (method == "tools/list")
    co_return result_response(std::move(id), bj::object{{"tools", ToolRunner::definitions()}});
  if (method != "tools/call")
    co_return error_response(std::move(id), kMethodNotFound, "Method not found: " + method);

  const bj::value* name = params.if_contains("name");
  if (name == nullptr || !name->is_string())
    co_return error_response(std::move(id), kInvalidParams, "Invalid params: name is required");
  const std::string tool(name->get_string());
  if (!ToolRunner::known(tool))
    co_return error_response(std::move(id), kInvalidParams, "unknown tool \"" + tool + "\"");
  const bj::value* args = params.if_contains("arguments");
  if (args != nullptr && !args->is_object() && !args->is_null())
    co_return error_response(std::move(id), kInvalidParams,
                             "Invalid params: arguments must be an object");
  bj::object arguments = (args != nullptr && args->is_object()) ? args->get_object() : bj::object{};

  ProgressReport progress;
  const bj::value* meta = params.if_contains("_meta");
  const bj::value* token = (meta != nullptr && meta->is_object())
                               ? meta->get_object().if_contains("progressToken")
                               : nullptr;
  if (token != nullptr && notify && (token->is_string() || token->is_number())) {
    progress = [notify, token = *token](double done, double total, const std::string& message) {
      notify({{"jsonrpc", "2.0"},
              {"method", "notifications/progress"},
              {"params",
               {{"progressToken", token},
                {"progress", done},
                {"total", total},
                {"message", message}}}});
    };
  }
  bj::object result = co_await tools_.call(tool, std::move(arguments), std::move(progress));
  co_return result_response(std::move(id), std::move(result));
}

}  // namespace avenor::host::mcp
