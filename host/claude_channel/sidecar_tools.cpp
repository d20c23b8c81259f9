#include "claude_channel/sidecar_tools.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>

namespace avenor::host::claude_channel {
namespace {

namespace bj = boost::json;

constexpr std::array<std::string_view, 7> kReportStates{
    "started", "thinking", "working", "blocked", "checkpoint", "permission_requested", "error"};
constexpr std::array<std::string_view, 3> kFinishStatuses{"done", "failed", "blocked"};

template <std::size_t N>
bj::array enum_values(const std::array<std::string_view, N>& values) {
  bj::array out;
  for (std::string_view v : values) out.emplace_back(v);
  return out;
}

template <std::size_t N>
bool one_of(std::string_view value, const std::array<std::string_view, N>& values) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

template <std::size_t N>
std::string joined(const std::array<std::string_view, N>& values) {
  std::string out;
  for (std::string_view v : values) out += (out.empty() ? "" : ", ") + std::string(v);
  return out;
}

// A schema without "type": payloads may be objects, strings or anything else.
bj::object any_value(std::string_view description) { return {{"description", description}}; }

bj::object string_field(std::string_view description) {
  return {{"type", "string"}, {"description", description}};
}

bj::object tool(std::string_view name, std::string_view description, bj::object properties,
                bj::array required) {
  return {{"name", name},
          {"description", description},
          {"inputSchema",
           {{"type", "object"}, {"properties", std::move(properties)}, {"required", required}}}};
}

const bj::value* field(const bj::object& args, std::string_view key) {
  const bj::value* v = args.if_contains(key);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

// The string at `key`: "" when absent, an error text when not a string.
std::variant<std::string, ToolArgumentError> string_arg(const bj::object& args,
                                                        std::string_view key) {
  const bj::value* v = field(args, key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return ToolArgumentError{std::string(key) + " must be a string"};
  return std::string(v->get_string());
}

std::variant<RelayCall, ToolArgumentError> report(const bj::object& args) {
  auto state = string_arg(args, "state");
  if (auto* e = std::get_if<ToolArgumentError>(&state)) return *e;
  const std::string& s = std::get<std::string>(state);
  if (!one_of(s, kReportStates))
    return ToolArgumentError{"state must be one of: " + joined(kReportStates)};
  const bj::value* payload = field(args, "payload");
  return RelayCall{"/report",
                   {{"state", s}, {"payload", payload != nullptr ? *payload : bj::value()}},
                   "reported " + s + " to avenor"};
}

std::variant<RelayCall, ToolArgumentError> finish(const bj::object& args) {
  auto status = string_arg(args, "status");
  if (auto* e = std::get_if<ToolArgumentError>(&status)) return *e;
  const std::string& s = std::get<std::string>(status);
  if (!one_of(s, kFinishStatuses))
    return ToolArgumentError{"status must be one of: " + joined(kFinishStatuses)};
  auto summary = string_arg(args, "summary");
  if (auto* e = std::get_if<ToolArgumentError>(&summary)) return *e;
  bj::array files;
  if (const bj::value* f = field(args, "files_changed")) {
    if (!f->is_array()) return ToolArgumentError{"files_changed must be an array of strings"};
    for (const bj::value& item : f->get_array()) {
      if (!item.is_string()) return ToolArgumentError{"files_changed must be an array of strings"};
      files.push_back(item);
    }
  }
  const bj::value* details = field(args, "details");
  return RelayCall{"/finish",
                   {{"status", s},
                    {"summary", std::get<std::string>(summary)},
                    {"files_changed", std::move(files)},
                    {"details", details != nullptr ? *details : bj::value()}},
                   "avenor recorded the finish (" + s + "); stop working on this task now"};
}

std::variant<RelayCall, ToolArgumentError> reply(const bj::object& args) {
  auto to = string_arg(args, "to");
  if (auto* e = std::get_if<ToolArgumentError>(&to)) return *e;
  if (std::get<std::string>(to).empty()) return ToolArgumentError{"to is required"};
  const bj::value* payload = field(args, "payload");
  return RelayCall{
      "/reply",
      {{"to", std::get<std::string>(to)}, {"payload", payload != nullptr ? *payload : bj::value()}},
      "reply delivered to avenor"};
}

}  // namespace

std::string sidecar_instructions() {
  return "You are being driven by avenor. Messages from avenor arrive as "
         "<channel source=\"avenor\" ...> blocks: a \"continue\" message is your next task from "
         "the user; \"add_context\" adds information to the current task; \"request_status\" asks "
         "you to answer with avenor_reply (to = the ctrl_id attribute); \"cancel\" asks you to "
         "stop. Report progress with avenor_report (state started, thinking, working, blocked, "
         "checkpoint, permission_requested or error). When a task is done, failed or blocked, "
         "call avenor_finish exactly once with that status, a short summary and the files you "
         "changed.";
}

bj::array tool_definitions() {
  return {
      tool("avenor_report", "Report progress on the current task to avenor.",
           {{"state",
             {{"type", "string"},
              {"enum", enum_values(kReportStates)},
              {"description", "what you are doing now"}}},
            {"payload", any_value("details: an object (e.g. {\"message\": \"...\"}) or text")}},
           {"state"}),
      tool("avenor_finish", "Tell avenor the current task is finished (call once per task).",
           {{"status",
             {{"type", "string"},
              {"enum", enum_values(kFinishStatuses)},
              {"description", "done, failed or blocked"}}},
            {"summary", string_field("one or two sentences on the outcome")},
            {"files_changed",
             {{"type", "array"},
              {"items", {{"type", "string"}}},
              {"description", "paths of the files you changed"}}},
            {"details", any_value("anything else worth keeping")}},
           {"status"}),
      tool("avenor_reply", "Answer an avenor message, e.g. a request_status.",
           {{"to", string_field("the ctrl_id of the message you answer")},
            {"payload", any_value("your answer: an object or text")}},
           {"to"}),
  };
}

std::variant<RelayCall, ToolArgumentError, UnknownTool> prepare_tool_call(
    std::string_view name, const bj::object& arguments) {
  auto widen = [](std::variant<RelayCall, ToolArgumentError> v)
      -> std::variant<RelayCall, ToolArgumentError, UnknownTool> {
    if (auto* call = std::get_if<RelayCall>(&v)) return std::move(*call);
    return std::get<ToolArgumentError>(v);
  };
  if (name == "avenor_report") return widen(report(arguments));
  if (name == "avenor_finish") return widen(finish(arguments));
  if (name == "avenor_reply") return widen(reply(arguments));
  return UnknownTool{};
}

}  // namespace avenor::host::claude_channel
