#include "control_client/control_commands.hpp"

#include <array>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <sstream>
#include <string_view>
#include <thread>

#include "cli/go_flags.hpp"
#include "control_client/rpc_client.hpp"
#include "control_client/tail_queue.hpp"
#include "permissions/permission_policy.hpp"
#include "run/thinking.hpp"
#include "util/duration.hpp"
#include "util/json_text.hpp"

namespace avenor::host::control_client {
namespace {

namespace bj = boost::json;

constexpr std::string_view kPrefix = "avenor control: ";

// How the optional trailing word becomes a param value.
enum class OptionalKind {
  text,
  count,  // a non-negative integer (history's limit, wait-turn's timeout_ms)
};

// One non-spawn command: positional words map to param keys in order;
// `optional_key` takes one more trailing word when present.
struct CommandSpec {
  std::string_view name;
  std::string_view method;
  std::array<std::string_view, 2> required_keys;  // "" marks an unused slot
  std::string_view optional_key;                  // "" when the command takes none
  OptionalKind optional_kind;
  OutputKind output;
  std::string_view success_text;
  std::string_view synopsis;
  std::string_view summary;
};

constexpr std::array<CommandSpec, 12> kCommands{{
    {"status",
     "status",
     {},
     "runtime_id",
     OptionalKind::text,
     OutputKind::indented_json,
     "",
     "status [runtime-id]",
     "status snapshot, or one runtime's entry (indented JSON)"},
    {"result",
     "result",
     {},
     "runtime_id",
     OptionalKind::text,
     OutputKind::indented_json,
     "",
     "result [runtime-id]",
     "the full final output of the run or a runtime (indented JSON)"},
    {"history",
     "history",
     {"runtime_id"},
     "limit",
     OptionalKind::count,
     OutputKind::indented_json,
     "",
     "history <runtime-id> [limit]",
     "a runtime's buffered events (indented JSON)"},
    {"wait-turn",
     "wait_turn",
     {"runtime_id"},
     "timeout_ms",
     OptionalKind::count,
     OutputKind::indented_json,
     "",
     "wait-turn <runtime-id> [timeout-ms]",
     "wait until the runtime's next turn settles (0 or none: no limit)"},
    {"list",
     "list",
     {},
     "",
     OptionalKind::text,
     OutputKind::indented_json,
     "",
     "list",
     "a supervisor's runtimes (indented JSON)"},
    {"tail",
     "subscribe",
     {},
     "",
     OptionalKind::text,
     OutputKind::event_stream,
     "",
     "tail",
     "every event as one JSON line, until the socket closes"},
    {"cancel",
     "cancel",
     {},
     "runtime_id",
     OptionalKind::text,
     OutputKind::text,
     "cancelled",
     "cancel [runtime-id]",
     "cancel the run or a runtime"},
    {"prompt",
     "prompt",
     {"text"},
     "runtime_id",
     OptionalKind::text,
     OutputKind::text,
     "prompt queued",
     "prompt <text> [runtime-id]",
     "queue a follow-up prompt"},
    {"interrupt-and-prompt",
     "interrupt_and_prompt",
     {"text"},
     "runtime_id",
     OptionalKind::text,
     OutputKind::text,
     "interrupt queued",
     "interrupt-and-prompt <text> [runtime-id]",
     "interrupt the turn and continue with <text>"},
    {"answer-permission",
     "answer_permission",
     {"request_id", "option_id"},
     "runtime_id",
     OptionalKind::text,
     OutputKind::text,
     "permission answered",
     "answer-permission <request-id> <option-id> [runtime-id]",
     "answer a pending permission"},
    {"identity",
     "identity",
     {},
     "",
     OptionalKind::text,
     OutputKind::indented_json,
     "",
     "identity",
     "the server's identity token (indented JSON)"},
    {"shutdown",
     "shutdown",
     {},
     "mode",
     OptionalKind::text,
     OutputKind::text,
     "shutting down",
     "shutdown [graceful|kill]",
     "shut a supervisor down (server default graceful)"},
}};

constexpr std::string_view kSpawnSynopsis = "spawn <flags>";
constexpr std::string_view kSpawnSummary = "start a supervisor runtime (spawn -h lists the flags)";

const CommandSpec* find_command(std::string_view name) {
  for (const CommandSpec& spec : kCommands)
    if (spec.name == name) return &spec;
  return nullptr;
}

// "<text>" for a param key, as the synopsis names it.
std::string placeholder(std::string_view key) {
  std::string text(key);
  for (char& c : text)
    if (c == '_') c = '-';
  return "<" + text + ">";
}

UsageError command_error(std::string_view command, const std::string& message) {
  return UsageError{std::string(kPrefix) + std::string(command) + ": " + message + "\n", true};
}

constexpr std::chrono::milliseconds kSpawnCallTimeout{150000};

// wait_turn answers when the turn settles or its own timeout_ms passes
// (-32020), so the client waits that long plus the usual 30 s margin; with no
// server limit (0 or absent) the client has none either. A limit too large
// for the clock is no limit in practice.
std::optional<std::chrono::milliseconds> wait_turn_call_timeout(const bj::object& params) {
  constexpr std::int64_t kMaxFiniteMs = std::int64_t{1} << 40;  // ≈ 35 years
  const bj::value* timeout = params.if_contains("timeout_ms");
  const std::int64_t ms = timeout != nullptr ? timeout->as_int64() : 0;
  if (ms <= 0 || ms > kMaxFiniteMs) return std::nullopt;
  return std::chrono::milliseconds(ms) + ControlRequest::kDefaultCallTimeout;
}

std::variant<ControlRequest, UsageError> parse_simple(const CommandSpec& spec,
                                                      const std::vector<std::string>& args) {
  std::size_t required = 0;
  while (required < spec.required_keys.size() && !spec.required_keys[required].empty()) ++required;
  const std::size_t allowed = required + (spec.optional_key.empty() ? 0 : 1);
  if (args.size() < required)
    return command_error(spec.name, "missing " + placeholder(spec.required_keys[args.size()]));
  if (args.size() > allowed)
    return command_error(spec.name,
                         "too many arguments (usage: " + std::string(spec.synopsis) + ")");

  ControlRequest request;
  request.command = std::string(spec.name);
  request.method = std::string(spec.method);
  request.output = spec.output;
  request.success_text = std::string(spec.success_text);
  bj::object params;
  for (std::size_t i = 0; i < required; ++i) params[spec.required_keys[i]] = args[i];
  if (spec.method == "interrupt_and_prompt") params["keep_queue"] = false;
  // An empty optional word counts as absent, like every other empty field.
  if (args.size() > required && !args[required].empty()) {
    const std::string& word = args[required];
    if (spec.optional_kind == OptionalKind::text) {
      params[spec.optional_key] = word;
    } else {
      const GoIntParse number = parse_go_int(word);
      if (number.error || number.value < 0)
        return command_error(spec.name, "invalid " + placeholder(spec.optional_key) + " " +
                                            bj::serialize(bj::string_view(word)) +
                                            ": want a non-negative integer");
      params[spec.optional_key] = number.value;
    }
  }
  if (spec.method == "wait_turn") request.call_timeout = wait_turn_call_timeout(params);
  if (!params.empty()) request.params = std::move(params);
  return request;
}

std::string spawn_usage_header() {
  return "Usage: avenor control --socket <path> spawn [flags]\n"
         "At least one of --prompt, --prompt-file and --loop-file is required;\n"
         "--prompt and --prompt-file exclude each other.\n";
}

std::variant<ControlRequest, UsageError> parse_spawn(const std::vector<std::string>& args,
                                                     const ConnectionFlags& connection_flags) {
  SpawnOptions o;
  GoFlagSet flags("spawn");
  flags.set_usage_header(spawn_usage_header());
  flags.string_var(o.prompt, "prompt", "", "prompt `text`");
  flags.string_var(o.prompt_file, "prompt-file", "", "`path` of a file holding the prompt");
  flags.string_var(o.loop_file, "loop-file", "", "loop file `path` (a loop runtime)");
  flags.string_var(o.dir, "dir", "", "working `directory` of the runtime (server default .)");
  flags.string_var(o.agent, "agent", "", "agent `name`");
  flags.string_var(o.agent_profile, "agent-profile", "", "agent profile `name`");
  flags.string_var(o.label, "label", "", "runtime `label`");
  flags.string_var(o.model, "model", "", "`model` id");
  flags.string_var(o.thinking, "thinking", "",
                   "thinking `level`: off, minimal, low, medium, high, xhigh or max");
  flags.string_var(o.backend, "backend", "", "backend `name` (server default opencode-acp)");
  flags.string_var(o.server_url, "server-url", "", "backend server `url` (opencode-http)");
  flags.string_var(o.on_event, "on-event", "", "event log `path`");
  flags.string_var(o.sentinel_file, "sentinel-file", "", "sentinel file `path`");
  flags.string_var(o.permission_handler, "permission-handler", "",
                   "permission handler (file:<base>)");
  std::string resume;
  flags.string_var(o.session_id, "session-id", "", "resume the session with this `id`");
  flags.string_var(resume, "resume", "", "alias of --session-id");
  flags.string_var(o.parent_id, "parent-id", "", "parent runtime `id`");
  flags.string_var(o.idempotency_key, "idempotency-key", "",
                   "`key` that makes a repeated spawn return the first outcome");
  flags.bool_var(o.auto_approve, "auto-approve", false, "approve every permission request");
  flags.int_var(o.timeout_seconds, "timeout", 0, "runtime time limit in `seconds` (sent when > 0)");
  flags.int_var(o.max_retries, "max-retries", 0, "retries after a failed attempt (sent when > 0)");
  std::string policy_flag;
  flags.string_var(policy_flag, "permission-policy", "",
                   "rules that answer permission requests first: `json` inline (starting with {) "
                   "or a file holding it");
  flags.bool_var(o.approve_reads, "approve-reads", false, "allow read and search requests");
  flags.bool_var(o.deny_all, "deny-all", false, "reject what the policy does not allow");
  flags.int_var(o.permission_timeout_seconds, "permission-timeout", 0,
                "reject a request unanswered after this many `seconds` (sent when > 0)");
  flags.string_var(o.permission_timeout_action, "permission-timeout-action", "",
                   "reject|cancel: what --permission-timeout does (server default reject)");
  // --socket and --wait-socket may follow `spawn` too (D13).
  if (connection_flags) connection_flags(flags);

  const GoFlagSet::ParseResult parsed = flags.parse(args);
  if (parsed.status == GoFlagSet::ParseResult::Status::help)
    return UsageError{flags.usage(), false, true};
  if (!parsed.ok())
    return UsageError{std::string(kPrefix) + "spawn: " + parsed.error + "\n", false};
  auto spawn_error = [&](const std::string& message) {
    return UsageError{std::string(kPrefix) + "spawn: " + message + "\n", false};
  };
  if (!flags.args().empty())
    return spawn_error("unexpected argument " + bj::serialize(bj::string_view(flags.args()[0])));
  // control.md §10.4 step 6: a loop file may come with a prompt (the loop's
  // first task), but the prompt has one source.
  if (o.prompt.empty() && o.prompt_file.empty() && o.loop_file.empty())
    return spawn_error("one of --prompt, --prompt-file and --loop-file is required");
  if (!o.prompt.empty() && !o.prompt_file.empty())
    return spawn_error("--prompt and --prompt-file are mutually exclusive");
  if (!resume.empty() && !o.session_id.empty() && resume != o.session_id)
    return spawn_error("--session-id and --resume name different sessions");
  if (o.session_id.empty()) o.session_id = resume;
  // Checked here so a typo fails before anything is spawned; whether the
  // backend supports thinking is the supervisor's check.
  if (!o.thinking.empty() && !thinking_level_bit(o.thinking))
    return spawn_error("invalid --thinking " + bj::serialize(bj::string_view(o.thinking)));
  // Permission policy flags (new): one line each, no usage text to scroll past.
  auto policy_error = [](const std::string& message) {
    return UsageError{std::string(kPrefix) + "spawn: " + message + "\n", false};
  };
  if (o.deny_all && o.auto_approve)
    return policy_error("--deny-all and --auto-approve are mutually exclusive");
  if (!o.permission_timeout_action.empty() && !valid_timeout_action(o.permission_timeout_action))
    return policy_error("--permission-timeout-action: " +
                        bj::serialize(bj::string_view(o.permission_timeout_action)) +
                        " is not one of reject, cancel");
  if (o.permission_timeout_seconds < 0)
    return policy_error("--permission-timeout: a number of seconds, not negative");
  if (!policy_flag.empty()) {
    try {
      o.permission_policy = load_permission_policy(policy_flag).to_json();
    } catch (const PolicyError& e) {
      return policy_error(std::string("--permission-policy: ") + e.what());
    }
  }

  ControlRequest request;
  request.command = "spawn";
  request.method = "spawn";
  request.params = spawn_params(o);
  request.output = OutputKind::indented_json;
  // spawn answers once the runtime's backend has a session: up to 10 s for
  // the runtime to start and 90 s for the session (control.md §10.4).
  request.call_timeout = kSpawnCallTimeout;
  return request;
}

}  // namespace

bj::object spawn_params(const SpawnOptions& o) {
  bj::object params;
  auto text = [&](std::string_view key, const std::string& value) {
    if (!value.empty()) params[key] = value;
  };
  text("prompt", o.prompt);
  text("prompt_file", o.prompt_file);
  text("loop_file", o.loop_file);
  text("dir", o.dir);
  text("agent", o.agent);
  text("agent_profile", o.agent_profile);
  text("label", o.label);
  text("model", o.model);
  text("thinking", o.thinking);
  text("backend", o.backend);
  text("server_url", o.server_url);
  text("on_event", o.on_event);
  text("sentinel_file", o.sentinel_file);
  text("permission_handler", o.permission_handler);
  text("session_id", o.session_id);
  text("parent_id", o.parent_id);
  text("idempotency_key", o.idempotency_key);
  if (o.auto_approve) params["auto_approve"] = true;
  if (o.timeout_seconds > 0) params["timeout"] = o.timeout_seconds;
  if (o.max_retries > 0) params["max_retries"] = o.max_retries;
  if (o.permission_policy) params["permission_policy"] = *o.permission_policy;
  if (o.approve_reads) params["approve_reads"] = true;
  if (o.deny_all) params["deny_all"] = true;
  if (o.permission_timeout_seconds > 0) params["permission_timeout"] = o.permission_timeout_seconds;
  text("permission_timeout_action", o.permission_timeout_action);
  return params;
}

std::variant<ControlRequest, UsageError> parse_control_command(
    const std::vector<std::string>& words, const ConnectionFlags& connection_flags) {
  if (words.empty()) return UsageError{std::string(kPrefix) + "missing command\n", true};
  const std::string& command = words.front();
  const std::vector<std::string> args(words.begin() + 1, words.end());
  if (command == "spawn") return parse_spawn(args, connection_flags);
  if (const CommandSpec* spec = find_command(command)) return parse_simple(*spec, args);
  return UsageError{
      std::string(kPrefix) + "unknown command " + bj::serialize(bj::string_view(command)) + "\n",
      true};
}

std::string control_usage_header() {
  std::string text = "Usage: avenor control --socket <path> <command> [args]\n\nCommands:\n";
  auto line = [&](std::string_view synopsis, std::string_view summary) {
    constexpr std::size_t kColumn = 58;
    text += "  ";
    text += synopsis;
    text += std::string(synopsis.size() < kColumn ? kColumn - synopsis.size() : 1, ' ');
    text += summary;
    text += '\n';
  };
  for (const CommandSpec& spec : kCommands) {
    line(spec.synopsis, spec.summary);
    if (spec.name == "tail") line(kSpawnSynopsis, kSpawnSummary);
  }
  text +=
      "\nThe flags may also follow the command (avenor control status --socket S). After\n"
      "the command only these flags and -h are flags; other words are arguments. After --\n"
      "every word is an argument (avenor control --socket S prompt -- \"--socket\" rt_1).\n"
      "\nFlags:\n";
  return text;
}

int execute_control_request(const ControlRequest& request, const std::string& socket_path,
                            std::ostream& out, std::ostream& err,
                            std::chrono::nanoseconds wait_socket) {
  const std::string prefix = std::string(kPrefix) + request.command + ": ";
  try {
    std::unique_ptr<RpcClient> client = dial_when_accepting(socket_path, wait_socket);
    if (!client) {
      err << kPrefix << "socket " << socket_path << " did not accept within "
          << format_go_duration(wait_socket) << '\n';
      return 1;
    }
    const bj::value result = client->call(request.method, request.params, request.call_timeout);
    switch (request.output) {
      case OutputKind::event_stream:
        return stream_events(*client, out, err, prefix);
      case OutputKind::indented_json:
        out << to_pretty_json(result) << '\n';
        break;
      case OutputKind::text:
        out << request.success_text << '\n';
        break;
    }
  } catch (const CallError& e) {
    // A run's socket knows no runtime-scoped calls (control.md §3); say what
    // to do instead of "method not found".
    constexpr std::int64_t kMethodNotFound = -32601;
    if (e.code() == kMethodNotFound && request.params && request.params->contains("runtime_id")) {
      err << prefix << "runtime ids need a stable supervisor socket; " << socket_path
          << " is a run's socket (omit the runtime id)\n";
      return 1;
    }
    err << prefix << "rpc error [" << e.code() << "]: " << e.what() << '\n';
    return 1;
  } catch (const TransportError& e) {
    err << prefix << e.what() << '\n';
    return 1;
  }
  out.flush();
  if (!out) {
    err << prefix << "write output failed\n";
    return 1;
  }
  return 0;
}

int stream_events(RpcClient& client, std::ostream& out, std::ostream& err,
                  const std::string& prefix) {
  TailQueue queue;
  bool output_failed = false;
  {
    std::thread reader([&] {
      try {
        while (std::optional<bj::object> event = client.next_event())
          queue.push(to_compact_json(*event));
        queue.close();
      } catch (const std::exception& e) {
        queue.close(e.what());
      } catch (...) {
        queue.close("unexpected failure while reading events");
      }
    });
    // Closing the connection first ends a reader still blocked on the socket
    // (after an output failure), so the join cannot hang.
    struct JoinOnExit {
      RpcClient& client;
      std::thread& thread;
      ~JoinOnExit() {
        client.close_from_any_thread();
        thread.join();
      }
    } join_on_exit{client, reader};

    while (std::optional<TailQueue::Item> item = queue.pop()) {
      if (item->dropped_before > 0)
        out << R"({"event":"client.lagged","dropped_count":)" << item->dropped_before << "}\n";
      out << item->line << '\n';
      // Flushing only when nothing else is waiting batches bursts into few
      // writes, yet never holds a line back while the stream is quiet.
      if (!item->more_ready) out.flush();
      if (!out) {
        output_failed = true;
        break;
      }
    }
  }
  if (output_failed) {
    err << prefix << "write output failed\n";
    return 1;
  }
  out.flush();
  if (std::optional<std::string> error = queue.error()) {
    err << prefix << *error << '\n';
    return 1;
  }
  return 0;
}

}  // namespace avenor::host::control_client
