// avenor_events (control.md §11.3): the last matching events of a run's log.
#include <boost/json.hpp>

#include "mcp/event_log.hpp"
#include "mcp/tool_args.hpp"
#include "mcp/tool_runner.hpp"

namespace avenor::host::mcp::tools {

namespace asio = boost::asio;
namespace bj = boost::json;

asio::awaitable<bj::value> events(ToolRunner& t, bj::object args) {
  const ToolArgs a(args, {"run_id", "types", "limit"});
  const std::string key = a.required("run_id");
  const std::vector<std::string> types = a.strings("types").value_or(std::vector<std::string>{});
  std::int64_t limit = a.integer("limit").value_or(0);
  if (limit <= 0) limit = 50;
  RunRecord* run = co_await t.resolve(key, "");
  co_return bj::object{
      {"events", last_events(run->event_path, types, static_cast<std::size_t>(limit))}};
}

}  // namespace avenor::host::mcp::tools
