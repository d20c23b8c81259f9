#include "stable/runtime.hpp"

#include <avenor/sdk/json.hpp>
#include <filesystem>

#include "control/bounded_output.hpp"
#include "control/event_history.hpp"

namespace avenor::host {

namespace json = sdk::json;
namespace fs = std::filesystem;
using boost::json::array;
using boost::json::object;

namespace {

// Shell-ish words of a command line: whitespace splits, quotes group.
std::vector<std::string> command_words(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  bool in_word = false;
  for (char c : command) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '|' || c == '&') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

bool looks_like_path(const std::string& w) {
  return !w.empty() && w.front() != '-' &&
         (w.find('/') != std::string::npos || w == "." || w == ".." || w.front() == '~');
}

bool inside(const fs::path& dir, const fs::path& p) {
  auto d = dir.begin();
  auto q = p.begin();
  for (; d != dir.end(); ++d, ++q) {
    if (d->empty()) continue;  // a trailing separator
    if (q == p.end() || *d != *q) return false;
  }
  return true;
}

}  // namespace

bool Runtime::observe(const object& e) {
  const std::string type = json::string_or(e, "event");
  last_event = type;
  latest_seq = std::max(latest_seq, event_seq(e));
  if (auto sid = json::string_or(e, "session_id"); !sid.empty() && type != "child.question")
    session_id = sid;
  if (type == "agent.status") {
    phase = json::string_or(e, "phase");
    phase_label = json::string_or(e, "label");
  } else if (type == "permission.request") {
    permission = e;
  } else if (type == "permission.response") {
    if (permission) answered_requests.push_back(json::string_or(*permission, "request_id"));
    if (answered_requests.size() > 64) answered_requests.erase(answered_requests.begin());
    permission.reset();
    answer_in_flight = false;
    claim_held = false;
  } else if (type == "session.end") {
    stop_reason = json::string_or(e, "stop_reason");
    if (const auto* out = e.if_contains("final_output"); out && out->is_string())
      final_output = std::string(out->get_string());
    else
      final_output.clear();
    if (const auto* u = e.if_contains("usage"); u && u->is_object()) usage = *u;
    permission.reset();
    answer_in_flight = false;
    claim_held = false;
    if (stop_reason == "end_turn") phase = "done";
    if (const auto* code = e.if_contains("exit_code"); code && code->is_int64())
      exit_code = static_cast<int>(code->get_int64());
    else
      exit_code = stop_reason.empty() ? exit_code : (stop_reason == "end_turn" ? 0 : exit_code);
  } else if (type == "avenor.parked") {
    if (status != "ended") status = "idle";
    phase = "done";
    exit_code = 0;
    ++settled;
    return true;
  }
  return false;
}

object Runtime::entry(const std::string& supervisor_run_id) const {
  object o;
  o["runtime_id"] = spec.runtime_id;
  o["session_id"] = session_id;
  o["run_id"] = supervisor_run_id;
  o["label"] = spec.label;
  o["agent"] = spec.agent;
  o["agent_profile"] = spec.agent_profile;
  o["model"] = spec.model;
  o["thinking"] = spec.thinking;
  o["backend"] = spec.backend;
  o["effective_agent"] = spec.effective_agent;
  o["effective_model"] = spec.effective_model;
  o["effective_backend"] = spec.effective_backend;
  o["dir"] = spec.dir;
  o["status"] = status;
  o["started_at"] = spec.started_at;
  o["exit_code"] = exit_code;
  o["on_event"] = spec.on_event;
  o["event_path"] = spec.on_event;
  o["sentinel_file"] = spec.sentinel_file;
  o["parent_id"] = spec.parent_id;
  if (children.empty()) {
    o["children"] = nullptr;
  } else {
    array kids;
    for (const auto& c : children) kids.emplace_back(c);
    o["children"] = std::move(kids);
  }
  o["pid"] = backend_pid;
  o["runtime_pid"] = process ? static_cast<std::int64_t>(process->pid()) : 0;
  o["phase"] = phase;
  o["phase_label"] = phase_label;
  o["pending_permission"] = permission.has_value();
  o["latest_seq"] = latest_seq;
  // (new) How many turns have settled (parked or ended) since this supervisor
  // linked the runtime: `avenor mcp` tells a follow-up's turn from the last one.
  o["settled_turns"] = static_cast<std::int64_t>(settled);
  o["auto_approve"] = spec.auto_approve;
  if (permission) o["permission"] = permission_view(*permission, spec.dir);
  if (usage) o["usage"] = *usage;
  if (!final_output.empty()) {
    object carrier{{"final_output", final_output}};
    bound_final_output(carrier);
    for (auto& kv : carrier) o[kv.key()] = kv.value();
  }
  return o;
}

std::int64_t runtime_number(const std::string& runtime_id) {
  if (!runtime_id.starts_with("rt_")) return 0;
  try {
    return std::stoll(runtime_id.substr(3));
  } catch (const std::exception&) {
    return 0;
  }
}

SessionIdentityMap::Owner Runtime::owner() const {
  // rt_N → N: unique within a state directory, never 0.
  const std::int64_t n = runtime_number(spec.runtime_id);
  return n > 0 ? static_cast<SessionIdentityMap::Owner>(n)
               : std::hash<std::string>{}(spec.runtime_id) | 1;
}

RegistryRuntime Runtime::registry_entry() const {
  RegistryRuntime r;
  r.runtime_id = spec.runtime_id;
  r.pid = process ? process->pid() : 0;
  r.pgid = process ? process->pgid() : 0;
  r.identity_token = spec.identity_token;
  r.control_socket = spec.control_socket;
  r.on_event = spec.on_event;
  r.sentinel_file = spec.sentinel_file;
  r.dir = spec.dir;
  r.label = spec.label;
  r.agent = spec.agent;
  r.agent_profile = spec.agent_profile;
  r.model = spec.model;
  r.thinking = spec.thinking;
  r.backend = spec.backend;
  r.auto_approve = spec.auto_approve;
  r.parent_id = spec.parent_id;
  r.children = children;
  r.session_id = session_id;
  r.started_at = spec.started_at;
  r.status = status;
  r.exit_code = exit_code;
  return r;
}

object permission_view(const object& request, const std::string& dir) {
  object view;
  for (const auto& kv : request) {
    const auto k = kv.key();
    if (k == "runtime_id" || k == "run_id" || k == "run_label" || k == "ts" || k == "seq") continue;
    view[k] = kv.value();
  }
  std::error_code ec;
  fs::path cwd = fs::absolute(dir, ec).lexically_normal();
  view["cwd"] = cwd.string();
  // Backends put the command in different places (codex: command; ACP:
  // toolCall.rawInput.command; pi: input.command).
  const boost::json::value* c = request.if_contains("command");
  for (const char* outer : {"toolCall", "rawInput", "input"}) {
    if (c) break;
    const object* o = json::find_object(request, outer);
    if (o && std::string_view(outer) == "toolCall") o = json::find_object(*o, "rawInput");
    if (o) c = o->if_contains("command");
  }
  std::string command;
  if (c && c->is_string()) {
    command = std::string(c->get_string());
  } else if (c && c->is_array()) {
    for (const auto& part : c->get_array())
      if (part.is_string()) command += std::string(part.get_string()) + " ";
  }
  if (command.empty()) return view;
  array resolved;
  bool escapes = false;
  for (const auto& w : command_words(command)) {
    if (!looks_like_path(w)) continue;
    fs::path p = w.front() == '~' ? fs::path(std::getenv("HOME") ? std::getenv("HOME") : "/") /
                                        fs::path(w.substr(std::min<std::size_t>(2, w.size())))
                                  : fs::path(w);
    if (p.is_relative()) p = cwd / p;
    p = p.lexically_normal();
    resolved.emplace_back(p.string());
    if (!inside(cwd, p)) escapes = true;
  }
  view["resolved_paths"] = std::move(resolved);
  view["path_escapes_cwd"] = escapes;
  return view;
}

}  // namespace avenor::host
