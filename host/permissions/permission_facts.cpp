#include "permissions/permission_facts.hpp"

#include <array>
#include <avenor/sdk/json.hpp>
#include <cctype>
#include <string>
#include <utility>

namespace avenor::host {

namespace bj = boost::json;
namespace json = sdk::json;

namespace {

constexpr std::array<std::string_view, 10> kAcpKinds{"read",        "edit",    "delete", "move",
                                                     "search",      "execute", "think",  "fetch",
                                                     "switch_mode", "other"};

// Tool names of opencode, pi and Claude Code, lowercased, by ACP kind.
constexpr std::array<std::pair<std::string_view, std::string_view>, 17> kToolNames{{
    {"bash", "execute"},
    {"shell", "execute"},
    {"read", "read"},
    {"view", "read"},
    {"edit", "edit"},
    {"write", "edit"},
    {"patch", "edit"},
    {"multiedit", "edit"},
    {"notebookedit", "edit"},
    {"glob", "search"},
    {"grep", "search"},
    {"list", "search"},
    {"ls", "search"},
    {"find", "search"},
    {"codesearch", "search"},
    {"webfetch", "fetch"},
    {"websearch", "fetch"},
}};

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

std::string kind_of_tool_name(std::string_view name) {
  const std::string n = lower(name);
  for (const auto& [tool, kind] : kToolNames) {
    if (n == tool) return std::string(kind);
  }
  return "other";
}

// A command given as a string or as an argv array.
std::optional<std::string> command_text(const bj::value* v) {
  if (!v) return std::nullopt;
  if (v->is_string()) return std::string(v->get_string());
  const bj::array* argv = v->if_array();
  if (!argv) return std::nullopt;
  std::string out;
  for (const auto& part : *argv) {
    if (!part.is_string()) return std::nullopt;
    if (!out.empty()) out += ' ';
    out += part.get_string();
  }
  return out;
}

}  // namespace

PermissionFacts describe_permission(std::string_view backend, const bj::object& request) {
  PermissionFacts f;
  if (const bj::object* call = json::find_object(request, "toolCall")) {
    const std::string kind = json::string_or(*call, "kind");
    for (auto k : kAcpKinds) {
      if (kind == k) f.tool_kind = kind;
    }
    f.title = json::string_or(*call, "title");
    if (const bj::object* input = json::find_object(*call, "rawInput"))
      f.command = command_text(input->if_contains("command"));
  } else if (backend == "codex-app-server") {
    const std::string kind = json::string_or(request, "kind");
    f.tool_kind = kind == "command" ? "execute" : kind == "file" ? "edit" : "other";
    f.command = command_text(request.if_contains("command"));
  } else if (const auto permission = json::find_string(request, "permission");
             permission && backend == "opencode-http") {
    f.tool_kind = kind_of_tool_name(*permission);
    if (const bj::object* meta = json::find_object(request, "metadata"))
      f.command = command_text(meta->if_contains("command"));
    const bj::array* patterns = json::find_array(request, "patterns");
    if (!f.command && *permission == "bash" && patterns && !patterns->empty() &&
        patterns->front().is_string())
      f.command = std::string(patterns->front().get_string());
  } else {
    f.tool_kind = kind_of_tool_name(json::string_or(request, "tool"));
    if (const bj::object* input = json::find_object(request, "input"))
      f.command = command_text(input->if_contains("command"));
  }
  if (f.title.empty()) f.title = json::string_or(request, "tool");
  if (f.title.empty()) f.title = json::string_or(request, "question");
  return f;
}

}  // namespace avenor::host
