// tools/list: the seven tools with input schemas an agent can act on
// (control.md §11.3). Every schema closes its properties, so what the schema
// says is exactly what ToolArgs accepts.
#include <array>
#include <boost/json.hpp>

#include "mcp/tool_runner.hpp"

namespace avenor::host::mcp {

namespace bj = boost::json;

namespace {

bj::object str(std::string_view description) {
  return {{"type", "string"}, {"description", description}};
}

bj::object boolean(std::string_view description) {
  return {{"type", "boolean"}, {"description", description}};
}

bj::object enumerated(std::initializer_list<std::string_view> values,
                      std::string_view description) {
  bj::array e;
  for (auto v : values) e.emplace_back(v);
  return {{"type", "string"}, {"enum", std::move(e)}, {"description", description}};
}

bj::object duration(std::string_view description) {
  bj::array types;
  types.push_back(bj::object{{"type", "string"},
                             {"pattern", "^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$|^[0-9]+$"}});
  types.push_back(bj::object{{"type", "integer"}, {"minimum", 1}});
  return {{"anyOf", std::move(types)}, {"description", description}};
}

// One word, or a non-empty list of words, from `values`.
bj::object words(std::initializer_list<std::string_view> values, std::string_view description) {
  bj::array e;
  for (auto v : values) e.emplace_back(v);
  bj::object one{{"type", "string"}, {"enum", e}};
  bj::object many{{"type", "array"}, {"items", one}, {"minItems", 1}};
  return {{"anyOf", bj::array{one, many}}, {"description", description}};
}

// avenor_spawn's permission_policy (new): the JSON `--permission-policy` takes.
bj::object permission_policy_schema() {
  const auto action = [](std::string_view description) {
    return enumerated({"allow", "reject", "ask"}, description);
  };
  bj::object rule{
      {"type", "object"},
      {"additionalProperties", false},
      {"required", bj::array{"action"}},
      {"properties",
       bj::object{
           {"tool_kind", words({"read", "edit", "delete", "move", "search", "execute", "think",
                                "fetch", "switch_mode", "other"},
                               "Match these tool kinds only.")},
           {"title", str("Glob (* and ?) on the tool title, e.g. \"*rm -rf*\".")},
           {"command", str("Glob (* and ?) on the command line, e.g. \"git status*\".")},
           {"option_kind",
            words({"allow", "allow_once", "allow_always", "reject", "reject_once", "reject_always"},
                  "Match only when the request offers an option of this kind; that option is "
                  "the one chosen.")},
           {"action", action("allow or reject answers the request; ask leaves it to the usual "
                             "answer (auto_approve, else avenor_answer_permission).")}}}};
  bj::object policy{
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       bj::object{{"rules", bj::object{{"type", "array"},
                                       {"items", std::move(rule)},
                                       {"description", "Checked in order; the first match wins."}}},
                  {"default", action("When no rule matches (default ask).")}}}};
  return {{"anyOf", bj::array{std::move(policy), bj::object{{"type", "string"}}}},
          {"description",
           "Rules that answer the agent's permission requests: an object like "
           "{\"rules\":[{\"tool_kind\":\"read\",\"action\":\"allow\"},{\"command\":"
           "\"rm *\",\"action\":\"reject\"}],\"default\":\"ask\"}, or the path of a JSON "
           "file holding one."}};
}

const std::string_view kRunId =
    "The run: the run_id avenor_spawn or avenor_follow_up returned, its label, or its runtime id "
    "(rt_N).";
const std::string_view kSupervisor =
    "Control socket path of another avenor stable supervisor; omit for this server's own.";

bj::object tool(std::string_view name, std::string_view title, std::string_view description,
                bj::object properties, std::initializer_list<std::string_view> required) {
  bj::array req;
  for (auto r : required) req.emplace_back(r);
  bj::object schema{
      {"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!req.empty()) schema["required"] = std::move(req);
  return {{"name", name},
          {"title", title},
          {"description", description},
          {"inputSchema", std::move(schema)}};
}

constexpr std::array<std::string_view, 7> kNames = {
    "avenor_spawn",  "avenor_status",    "avenor_result",  "avenor_answer_permission",
    "avenor_events", "avenor_follow_up", "avenor_shutdown"};

}  // namespace

bool ToolRunner::known(std::string_view name) {
  for (auto n : kNames)
    if (n == name) return true;
  return false;
}

bj::array ToolRunner::definitions() {
  bj::array tools;
  tools.push_back(tool(
      "avenor_spawn", "Start an agent",
      "Start a coding agent (a separate process) on a task in a directory. Returns at once with "
      "a run_id; follow it with avenor_result (waits for the turn) or avenor_status.",
      {{"repo_dir", str("Directory the agent works in (must exist).")},
       {"prompt", str("The task. Give exactly one of prompt and prompt_file.")},
       {"prompt_file", str("A file holding the task, instead of prompt.")},
       {"label", str("A name for the run (default: the run_id); later calls may use it.")},
       {"agent", str("The backend's agent to use (e.g. an opencode agent name).")},
       {"model", str("Model, as the backend names it (e.g. provider/model for opencode).")},
       {"thinking", str("Thinking effort (e.g. low, medium, high), where the backend has one.")},
       {"backend", str("Backend plugin: opencode-acp (default), opencode-http, codex-app-server, "
                       "gemini-acp, cursor-acp, pi, claude-channel, claude.")},
       {"server_url", str("opencode-http only: the opencode server URL.")},
       {"timeout", duration("Limit for the agent's whole life: 90s, 10m, 2h, or seconds.")},
       {"auto_approve", boolean("Approve every permission request of the agent (default false: "
                                "requests wait for avenor_answer_permission).")},
       {"permission_policy", permission_policy_schema()},
       {"approve_reads", boolean("Allow read and search requests (a first policy rule).")},
       {"deny_all", boolean("Reject every request the policy does not allow (a last policy "
                            "rule); not with auto_approve.")},
       {"permission_timeout",
        duration("Reject a permission request nobody answered within this time: 90s, 10m, or "
                 "seconds.")},
       {"permission_timeout_action",
        enumerated({"reject", "cancel"},
                   "What permission_timeout does: reject the request (default) or cancel the "
                   "run.")},
       {"supervisor_id", str(kSupervisor)}},
      {"repo_dir"}));
  tools.push_back(tool(
      "avenor_status", "Status of runs",
      "Status of one run, or of all runs when run_id is omitted. status is running, done, "
      "failed, timeout or killed; pending_permission:true means the agent waits for "
      "avenor_answer_permission. With wait_for it waits (at most the server's max wait; then "
      "timed_out:true — call again).",
      {{"run_id", str(kRunId)},
       {"view",
        enumerated({"full", "lifecycle"}, "full (default) or lifecycle (status fields only).")},
       {"wait_for", enumerated({"terminal", "phase_change", "turn_complete", "permission"},
                               "Wait until the run ends (terminal, turn_complete), its phase "
                               "changes, or it asks a permission. Needs run_id.")},
       {"timeout", duration("How long to wait (needs wait_for): 30s, 5m, or seconds.")},
       {"supervisor_id", str(kSupervisor)}},
      {}));
  tools.push_back(tool(
      "avenor_result", "Result of a run",
      "The run's final output. Waits for the turn to finish by default (at most the server's max "
      "wait; then timed_out:true — call again). ready:false with pending_permission:true means "
      "answer it with avenor_answer_permission first.",
      {{"run_id", str(kRunId)},
       {"wait", boolean("Wait for the turn to finish (default true).")},
       {"timeout", duration("How long to wait: 30s, 5m, or seconds.")},
       {"supervisor_id", str(kSupervisor)}},
      {"run_id"}));
  tools.push_back(
      tool("avenor_answer_permission", "Answer a permission request",
           "Answer the agent's pending permission request with one of its options (avenor_status "
           "shows them under permission.options).",
           {{"run_id", str(kRunId)},
            {"option_id", str("The chosen option's optionId (e.g. once, always, reject).")},
            {"request_id", str("The request to answer (default: the pending one).")},
            {"message", str("A message for options that take one (at most 64 KiB).")},
            {"supervisor_id", str(kSupervisor)}},
           {"run_id", "option_id"}));
  tools.push_back(tool(
      "avenor_events", "Events of a run",
      "The last events of the run's NDJSON log (messages, tool calls, permissions, session.end), "
      "optionally only some event types.",
      {{"run_id", str(kRunId)},
       {"types", bj::object{{"type", "array"},
                            {"items", {{"type", "string"}}},
                            {"description",
                             "Only these event names (e.g. session.end, "
                             "tool.call, permission.request)."}}},
       {"limit", bj::object{{"type", "integer"},
                            {"description", "How many of the last matches (default 50)."}}}},
      {"run_id"}));
  tools.push_back(
      tool("avenor_follow_up", "Send a follow-up",
           "Continue a finished run's session with a new message. Returns a new run_id for the new "
           "turn; wait for it with avenor_result.",
           {{"run_id", str(kRunId)},
            {"message", str("The follow-up message.")},
            {"label", str("Label of the new run (default: <label>-followup).")},
            {"supervisor_id", str(kSupervisor)}},
           {"run_id", "message"}));
  tools.push_back(
      tool("avenor_shutdown", "Shut down the supervisor",
           "Stop the supervisor and every agent it runs, and delete this server's sentinel and log "
           "files for it. The next avenor_spawn starts a fresh supervisor.",
           {{"force", boolean("Kill the agents at once instead of letting them stop.")},
            {"supervisor_id", str(kSupervisor)}},
           {}));
  return tools;
}

}  // namespace avenor::host::mcp
