// avenor_answer_permission (control.md §11.3): answers the run's pending
// permission request through the supervisor.
#include <boost/json.hpp>

#include "mcp/tool_args.hpp"
#include "mcp/tool_runner.hpp"
#include "util/utf8.hpp"

namespace avenor::host::mcp::tools {

namespace asio = boost::asio;
namespace bj = boost::json;

asio::awaitable<bj::value> answer_permission(ToolRunner& t, bj::object args) {
  const ToolArgs a(args, {"run_id", "option_id", "request_id", "message", "supervisor_id"});
  const std::string key = a.required("run_id");
  const std::string option = a.required("option_id");
  const std::optional<std::string> message = a.string("message");
  if (message && message->size() > 65536) throw ToolError("message exceeds 65536 bytes");
  if (message && !is_valid_utf8(*message)) throw ToolError("message is not valid UTF-8");
  RunRecord* run = co_await t.resolve(key, a.string("supervisor_id").value_or(""));
  std::string request_id = a.string("request_id").value_or("");
  if (request_id.empty()) {
    const std::optional<bj::object> entry = co_await t.entry(*run);
    const bj::value* p = entry ? entry->if_contains("permission") : nullptr;
    const bj::value* id =
        (p != nullptr && p->is_object()) ? p->get_object().if_contains("request_id") : nullptr;
    if (id == nullptr || !id->is_string() || id->get_string().empty())
      throw ToolError("run \"" + key + "\" has no pending permission request");
    request_id = id->get_string();
  }
  bj::object params{
      {"runtime_id", run->runtime_id}, {"request_id", request_id}, {"option_id", option}};
  if (message) params["message"] = *message;
  co_await t.hub().call(run->supervisor_id, "answer_permission", std::move(params));
  co_return bj::object{{"ok", true}};
}

}  // namespace avenor::host::mcp::tools
