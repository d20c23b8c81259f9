#include "mcp/tool_runner.hpp"

#include <avenor/sdk/json.hpp>
#include <boost/json.hpp>
#include <map>

#include "mcp/run_status.hpp"
#include "mcp/tool_args.hpp"

namespace avenor::host::mcp {

namespace asio = boost::asio;
namespace bj = boost::json;

namespace {

// The uuid in `<dir>/avenor-run-<uuid>.done` / `.log`, or "".
std::string run_id_in_path(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  constexpr std::string_view kPrefix = "avenor-run-";
  if (!name.starts_with(kPrefix)) return {};
  const auto dot = name.rfind('.');
  if (dot == std::string::npos || dot <= kPrefix.size()) return {};
  return name.substr(kPrefix.size(), dot - kPrefix.size());
}

RunRecord record_from_entry(const bj::object& e, const std::string& supervisor_id) {
  RunRecord r;
  r.runtime_id = sdk::json::string_or(e, "runtime_id");
  r.run_id = run_id_in_path(sdk::json::string_or(e, "sentinel_file"));
  if (r.run_id.empty()) r.run_id = run_id_in_path(sdk::json::string_or(e, "on_event"));
  if (r.run_id.empty()) r.run_id = r.runtime_id;
  r.label = sdk::json::string_or(e, "label");
  if (r.label.empty()) r.label = r.run_id;
  r.supervisor_id = supervisor_id;
  r.session_id = sdk::json::string_or(e, "session_id");
  r.sentinel_file = sdk::json::string_or(e, "sentinel_file");
  r.event_path = sdk::json::string_or(e, "on_event");
  r.repo_dir = sdk::json::string_or(e, "dir");
  r.agent = sdk::json::string_or(e, "agent");
  r.model = sdk::json::string_or(e, "model");
  r.backend = sdk::json::string_or(e, "backend");
  r.thinking = sdk::json::string_or(e, "thinking");
  const bj::value* auto_approve = e.if_contains("auto_approve");
  r.auto_approve = auto_approve != nullptr && auto_approve->is_bool() && auto_approve->get_bool();
  return r;
}

// A supervisor error as the agent reads it: the message plus its detail.
std::string describe(const LinkCallError& e) {
  std::string text = e.what();
  if (e.code() == -32010)  // control.md §4: one owner connection per supervisor
    return text +
           ": another client (another avenor mcp?) is connected to this supervisor and "
           "owns it; only reads work until it disconnects";
  const bj::object* data = e.data().if_object();
  if (data == nullptr) return text;
  if (const bj::value* d = data->if_contains("detail"); d != nullptr && d->is_string())
    return text + ": " + std::string(d->get_string());
  if (const bj::value* req = data->if_contains("required"); req != nullptr && req->is_array()) {
    std::string names;
    for (const auto& n : req->get_array())
      if (n.is_string()) names += (names.empty() ? "" : ", ") + std::string(n.get_string());
    return text + ": required " + names;
  }
  return text + " " + bj::serialize(*data);
}

bj::object text_result(std::string text, bool is_error) {
  bj::array content;
  content.push_back(bj::object{{"type", "text"}, {"text", std::move(text)}});
  return bj::object{{"content", std::move(content)}, {"isError", is_error}};
}

}  // namespace

ToolRunner::ToolRunner(SupervisorHub& hub, McpSettings settings)
    : hub_(hub), settings_(std::move(settings)) {}

asio::awaitable<bj::object> ToolRunner::call(std::string name, bj::object args,
                                             ProgressReport progress) {
  std::string failure;
  bj::value out;
  try {
    if (name == "avenor_spawn") {
      out = co_await tools::spawn(*this, std::move(args));
    } else if (name == "avenor_status") {
      out = co_await tools::status(*this, std::move(args), std::move(progress));
    } else if (name == "avenor_result") {
      out = co_await tools::result(*this, std::move(args), std::move(progress));
    } else if (name == "avenor_answer_permission") {
      out = co_await tools::answer_permission(*this, std::move(args));
    } else if (name == "avenor_events") {
      out = co_await tools::events(*this, std::move(args));
    } else if (name == "avenor_follow_up") {
      out = co_await tools::follow_up(*this, std::move(args));
    } else if (name == "avenor_shutdown") {
      out = co_await tools::shutdown(*this, std::move(args));
    } else {
      failure = "unknown tool \"" + name + "\"";
    }
  } catch (const ToolError& e) {
    failure = e.what();
  } catch (const LinkCallError& e) {
    failure = describe(e);
  } catch (const LinkClosedError& e) {
    failure = std::string("supervisor connection lost: ") + e.what();
  } catch (const std::exception& e) {
    failure = std::string(name) + ": " + e.what();
  }
  if (!failure.empty()) co_return text_result(std::move(failure), true);
  bj::object result = text_result(bj::serialize(out), false);
  if (out.is_object()) {
    result["structuredContent"] = std::move(out);
  } else {
    result["structuredContent"] = bj::object{{"runs", std::move(out)}};
  }
  co_return result;
}

asio::awaitable<RunRecord*> ToolRunner::resolve(std::string key, std::string supervisor_id) {
  const std::string sup = hub_.resolve(supervisor_id);
  if (RunRecord* r = registry_.find(key, sup)) co_return r;
  if (key.empty()) throw ToolError("run_id is required");
  // Not ours (another MCP server's, or from before a restart): rebuilt
  // from what the supervisor lists.
  const bj::value listed = co_await hub_.call(sup, "list", bj::object{});
  std::vector<const bj::object*> by_label;
  const bj::object* match = nullptr;
  if (const bj::array* entries = listed.if_array()) {
    for (const auto& item : *entries) {
      const bj::object* e = item.if_object();
      if (e == nullptr) continue;
      const RunRecord r = record_from_entry(*e, sup);
      if (r.run_id == key || r.runtime_id == key) match = e;
      if (sdk::json::string_or(*e, "label") == key) by_label.push_back(e);
    }
  }
  if (match == nullptr && by_label.size() > 1)
    throw ToolError("label \"" + key + "\" names " + std::to_string(by_label.size()) +
                    " runs; use the run id");
  if (match == nullptr && by_label.size() == 1) match = by_label.front();
  if (match == nullptr) throw ToolError("run \"" + key + "\" not found");
  co_return &registry_.add(record_from_entry(*match, sup));
}

RunRecord& ToolRunner::known_run(const bj::object& entry, const std::string& supervisor_id) {
  if (RunRecord* r =
          registry_.newest_on_runtime(supervisor_id, sdk::json::string_or(entry, "runtime_id")))
    return *r;
  return registry_.add(record_from_entry(entry, supervisor_id));
}

asio::awaitable<std::optional<bj::object>> ToolRunner::entry(const RunRecord& run) {
  bj::object params{{"runtime_id", run.runtime_id}};
  bj::value e;
  try {
    e = co_await hub_.call(run.supervisor_id, "status", std::move(params));
  } catch (const LinkCallError& err) {
    if (std::string_view(err.what()).ends_with("not found")) co_return std::nullopt;
    throw;
  }
  if (!e.is_object()) co_return std::nullopt;
  co_return e.get_object();
}

asio::awaitable<bj::object> ToolRunner::status(RunRecord& run) {
  if (run.frozen) co_return *run.frozen;
  const std::optional<bj::object> e = co_await entry(run);
  co_return run_status(run, e);
}

}  // namespace avenor::host::mcp
