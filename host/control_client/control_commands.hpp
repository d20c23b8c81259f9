// The subcommands of `avenor control --socket <path> <command> [args]`
// (cli.md §6): how each command line becomes one JSON-RPC request, and how
// its result is printed. Parsing is separate from the socket so it can be
// checked without a server, and so a usage error never dials.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

namespace avenor::host {
class GoFlagSet;
}

namespace avenor::host::control_client {

class RpcClient;

enum class OutputKind {
  indented_json,  // the result, Go MarshalIndent style
  text,           // a fixed success word ("cancelled", "prompt queued", ...)
  event_stream,   // tail: every notification's params, one compact line each
};

struct ControlRequest {
  std::string command;  // as typed; names the command in error messages
  std::string method;
  std::optional<boost::json::object> params;  // nullopt: the request has no "params"
  OutputKind output = OutputKind::indented_json;
  std::string success_text;  // for OutputKind::text
  // The client's limit for this call (cli.md §6: 30 s); nullopt = none, for
  // `wait-turn` without a server-side limit. `wait-turn` with one gets
  // timeout_ms + 30 s, so the server's -32020 arrives before the client gives up.
  std::optional<std::chrono::milliseconds> call_timeout = kDefaultCallTimeout;

  static constexpr std::chrono::milliseconds kDefaultCallTimeout{30000};
};

// A command line that cannot become a request: `text` goes to stderr as is,
// followed by one hint line naming the usage to read: `avenor control --help`
// when `append_usage`, else `avenor control spawn --help`. Exit status 1.
// With `help` the user asked for usage: `text` is it, for stdout, exit 0.
struct UsageError {
  std::string text;
  bool append_usage = true;
  bool help = false;
};

// Adds the connection flags (--socket, --wait-socket) to a sub-command's flag
// set, so they may follow the command word (D13).
using ConnectionFlags = std::function<void(GoFlagSet&)>;

// `avenor control spawn` flags; empty strings and non-positive numbers are
// left out of the params.
struct SpawnOptions {
  std::string prompt;
  std::string prompt_file;
  std::string loop_file;
  std::string dir;
  std::string agent;
  std::string agent_profile;
  std::string label;
  std::string model;
  std::string thinking;
  std::string backend;
  std::string server_url;
  std::string on_event;
  std::string sentinel_file;
  std::string permission_handler;
  std::string session_id;  // --session-id or its alias --resume
  std::string parent_id;
  std::string idempotency_key;
  bool auto_approve = false;
  int timeout_seconds = 0;
  int max_retries = 0;
  // Permission policy (new): the policy is read and checked by the client
  // (a file path is the client's) and sent as a JSON object.
  std::optional<boost::json::object> permission_policy;
  bool approve_reads = false;
  bool deny_all = false;
  int permission_timeout_seconds = 0;
  std::string permission_timeout_action;
};

// The `spawn` params (control.md §10.4) of `options`.
boost::json::object spawn_params(const SpawnOptions& options);

// `words` = the command and its arguments (what follows the --socket flag).
// `spawn` parses its own flags; `connection_flags` adds --socket and
// --wait-socket to them.
std::variant<ControlRequest, UsageError> parse_control_command(
    const std::vector<std::string>& words, const ConnectionFlags& connection_flags = {});

// The top-level usage up to (not including) the flag list.
std::string control_usage_header();

// Dials `socket_path`, sends the request and prints its outcome: the result
// to `out`, or `avenor control: <cmd>: rpc error [<code>]: <message>` /
// `avenor control: <cmd>: <transport error>` to `err`. Returns the exit status.
// With `wait_socket` > 0 (--wait-socket, new) a socket that does not exist
// yet or refuses connections is dialled again every 25 ms until that much
// time has passed: `avenor control: socket <path> did not accept within <d>`.
int execute_control_request(const ControlRequest& request, const std::string& socket_path,
                            std::ostream& out, std::ostream& err,
                            std::chrono::nanoseconds wait_socket = {});

// tail after a successful subscribe: copies event params to `out`, one
// compact JSON line each, until the connection closes. A reader thread takes
// events off the socket into a 256-slot TailQueue while this thread writes,
// so a slow stdout costs dropped events (reported as `client.lagged`), never
// a stalled socket. Returns the exit status; errors go to `err` after `prefix`.
int stream_events(RpcClient& client, std::ostream& out, std::ostream& err,
                  const std::string& prefix);

}  // namespace avenor::host::control_client
