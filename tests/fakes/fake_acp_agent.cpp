// fake_acp_agent: a scripted ACP agent that avenor launches in place of `opencode acp`
// (or `gemini --acp`, `agent acp`), for fault cases a real CLI cannot be made to show and for
// benchmarks. It answers the ACP handshake and plays the script's turns, one per
// session/prompt. Single-threaded and blocking, but every wait keeps reading stdin (poll), so
// session/cancel and permission answers are seen while a turn sleeps.
//
//   fake_acp_agent --script SCRIPT.json [--record RECORD.ndjson]
//   FAKE_ACP_SCRIPT=SCRIPT.json FAKE_ACP_RECORD=RECORD.ndjson fake_acp_agent acp --cwd D ...
//
// Unknown arguments are ignored so the binary can stand in for a real CLI. The script format
// is described in tests/fakes/README.md.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <avenor/sdk/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace bj = boost::json;
namespace sj = avenor::sdk::json;
using Clock = std::chrono::steady_clock;
using Deadline = std::optional<Clock::time_point>;  // nullopt: wait forever

constexpr std::string_view kDefaultSessionId = "ses_fake_1";
constexpr std::size_t kWriteChunk = 256 * 1024;

std::string quoted(std::string_view text) {
  return bj::serialize(bj::value(bj::string_view(text)));
}

// ---------------------------------------------------------------------------------------------
// Command line

struct Options {
  std::string script_path;
  std::string record_path;
};

// Takes --script/--record (also as --flag=value), else FAKE_ACP_SCRIPT/FAKE_ACP_RECORD.
// Everything else is the real CLI's argv (`acp --pure --log-level WARN --cwd D`) and ignored.
Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto take = [&](std::string_view flag, std::string& out) {
      if (arg == flag && i + 1 < argc) {
        out = argv[++i];
        return true;
      }
      if (arg.size() > flag.size() && arg.starts_with(flag) && arg[flag.size()] == '=') {
        out = arg.substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    if (take("--script", options.script_path)) continue;
    if (take("--record", options.record_path)) continue;
  }
  auto from_env = [](std::string& out, const char* name) {
    const char* value = std::getenv(name);
    if (out.empty() && value != nullptr) out = value;
  };
  from_env(options.script_path, "FAKE_ACP_SCRIPT");
  from_env(options.record_path, "FAKE_ACP_RECORD");
  return options;
}

// ---------------------------------------------------------------------------------------------
// Script

enum class Verb {
  kChunk,
  kThought,
  kToolCall,
  kToolCallUpdate,
  kPlan,
  kUpdate,
  kPermission,
  kPermissionNowait,
  kRequest,
  kNotify,
  kSleep,
  kFlood,
  kRaw,
  kRawRepeat,
  kStderr,
  kExit,
  kHang,
  kEnd,
  kPromptError,
  kEndMissingStopReason,
};

enum class ArgType { kString, kObject, kArray, kInteger, kTrue };

struct VerbInfo {
  std::string_view name;
  Verb verb;
  ArgType arg;
  std::array<std::string_view, 4> modifiers;  // other keys allowed beside the verb
};

constexpr std::array<VerbInfo, 20> kVerbs{{
    {"chunk", Verb::kChunk, ArgType::kString, {}},
    {"thought", Verb::kThought, ArgType::kString, {}},
    {"tool_call", Verb::kToolCall, ArgType::kObject, {}},
    {"tool_call_update", Verb::kToolCallUpdate, ArgType::kObject, {}},
    {"plan", Verb::kPlan, ArgType::kArray, {}},
    {"update", Verb::kUpdate, ArgType::kObject, {}},
    {"permission",
     Verb::kPermission,
     ArgType::kObject,
     {"wait", "on_allow", "on_reject", "on_cancel"}},
    {"permission_nowait", Verb::kPermissionNowait, ArgType::kObject, {}},
    {"request", Verb::kRequest, ArgType::kObject, {"wait"}},
    {"notify", Verb::kNotify, ArgType::kObject, {}},
    {"sleep_ms", Verb::kSleep, ArgType::kInteger, {}},
    {"flood", Verb::kFlood, ArgType::kObject, {}},
    {"raw", Verb::kRaw, ArgType::kString, {}},
    {"raw_repeat", Verb::kRawRepeat, ArgType::kObject, {}},
    {"stderr", Verb::kStderr, ArgType::kString, {}},
    {"exit", Verb::kExit, ArgType::kInteger, {}},
    {"hang", Verb::kHang, ArgType::kTrue, {"ignore_eof"}},
    {"end", Verb::kEnd, ArgType::kObject, {}},
    {"prompt_error", Verb::kPromptError, ArgType::kObject, {}},
    {"end_missing_stop_reason", Verb::kEndMissingStopReason, ArgType::kTrue, {}},
}};

struct Action {
  Verb verb = Verb::kChunk;
  bj::value arg;  // the verb's value
  bool wait = true;
  bool ignore_eof = false;
  std::vector<Action> on_allow;
  std::vector<Action> on_reject;
  std::optional<std::vector<Action>> on_cancel;
};

using Actions = std::vector<Action>;

struct Script {
  std::string session_id{kDefaultSessionId};
  std::map<std::string, bj::object, std::less<>> fail_method;  // method -> JSON-RPC error
  std::map<std::string, bj::value, std::less<>> results;       // method -> result override
  std::map<std::string, std::int64_t, std::less<>> delay_ms;   // method -> delay before answer
  std::vector<Actions> turns;
  // Turns chosen by the prompt's text: the first entry whose `contains` occurs
  // in it wins over `turns` (loop phases start a new agent per phase).
  std::vector<std::pair<std::string, Actions>> by_prompt;
  bool ignore_cancel = false;
  bool ignore_eof = false;
  bool ignore_sigterm = false;

  // The actions for the index-th prompt: a by_prompt match, else turns[index]
  // (the last turn repeats); nullptr without either.
  const Actions* turn(std::size_t index, std::string_view prompt) const {
    for (const auto& [needle, actions] : by_prompt)
      if (prompt.find(needle) != std::string_view::npos) return &actions;
    if (turns.empty()) return nullptr;
    return &turns[std::min(index, turns.size() - 1)];
  }
};

class ScriptError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads and validates a script; every error names the JSON path of the offending value.
class ScriptLoader {
 public:
  static Script load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ScriptError("cannot open script " + path);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    try {
      return load(sj::parse(text));
    } catch (const ScriptError&) {
      throw;
    } catch (const std::exception& e) {
      throw ScriptError(path + ": " + e.what());
    }
  }

  static Script load(const bj::value& doc) {
    const bj::object& top = object(doc, "script");
    Script script;
    for (const auto& [key, value] : top) {
      const std::string where = std::string(key);
      if (key == "session_id") {
        script.session_id = string(value, where);
      } else if (key == "fail_method") {
        for (const auto& [method, error] : object(value, where)) {
          script.fail_method.emplace(method,
                                     error_object(error, where + "." + std::string(method)));
        }
      } else if (key == "results") {
        for (const auto& [method, result] : object(value, where)) {
          script.results.emplace(method, result);
        }
      } else if (key == "delay_ms") {
        for (const auto& [method, ms] : object(value, where)) {
          script.delay_ms.emplace(method, integer(ms, where + "." + std::string(method)));
        }
      } else if (key == "turns") {
        const bj::array& turns = array(value, where);
        for (std::size_t i = 0; i < turns.size(); ++i) {
          script.turns.push_back(actions(turns[i], where + "[" + std::to_string(i) + "]"));
        }
      } else if (key == "by_prompt") {
        const bj::array& entries = array(value, where);
        for (std::size_t i = 0; i < entries.size(); ++i) {
          const std::string at = where + "[" + std::to_string(i) + "]";
          const bj::object& entry = object(entries[i], at);
          for (const auto& [k, v] : entry)
            if (k != "contains" && k != "turn")
              throw ScriptError("unknown key \"" + at + "." + std::string(k) + "\"");
          const auto* contains = entry.if_contains("contains");
          const auto* turn = entry.if_contains("turn");
          if (!contains || !turn) throw ScriptError(at + ": needs \"contains\" and \"turn\"");
          script.by_prompt.emplace_back(string(*contains, at + ".contains"),
                                        actions(*turn, at + ".turn"));
        }
      } else if (key == "ignore_cancel") {
        script.ignore_cancel = boolean(value, where);
      } else if (key == "ignore_eof") {
        script.ignore_eof = boolean(value, where);
      } else if (key == "ignore_sigterm") {
        script.ignore_sigterm = boolean(value, where);
      } else if (!key.starts_with("_")) {  // "_comment" and friends are allowed
        throw ScriptError("unknown script key \"" + where + "\"");
      }
    }
    return script;
  }

 private:
  static Actions actions(const bj::value& value, const std::string& where) {
    const bj::array& list = array(value, where);
    Actions out;
    out.reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      out.push_back(action(list[i], where + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  static Action action(const bj::value& value, const std::string& where) {
    const bj::object& spec = object(value, where);
    const VerbInfo* info = nullptr;
    for (const VerbInfo& candidate : kVerbs) {
      if (!spec.contains(candidate.name)) continue;
      if (info != nullptr) {
        throw ScriptError(where + ": more than one action (\"" + std::string(info->name) +
                          "\", \"" + std::string(candidate.name) + "\")");
      }
      info = &candidate;
    }
    if (info == nullptr) throw ScriptError(where + ": no known action key");

    Action action;
    action.verb = info->verb;
    action.arg = spec.at(info->name);
    check_arg(*info, action.arg, where + "." + std::string(info->name));
    for (const auto& [key, modifier] : spec) {
      if (key == info->name) continue;
      const std::string at = where + "." + std::string(key);
      if (std::find(info->modifiers.begin(), info->modifiers.end(), key) == info->modifiers.end()) {
        throw ScriptError(at + ": not allowed with \"" + std::string(info->name) + "\"");
      }
      if (key == "wait") action.wait = boolean(modifier, at);
      if (key == "ignore_eof") action.ignore_eof = boolean(modifier, at);
      if (key == "on_allow") action.on_allow = actions(modifier, at);
      if (key == "on_reject") action.on_reject = actions(modifier, at);
      if (key == "on_cancel") action.on_cancel = actions(modifier, at);
    }
    return action;
  }

  static void check_arg(const VerbInfo& info, const bj::value& arg, const std::string& where) {
    switch (info.arg) {
      case ArgType::kString:
        string(arg, where);
        break;
      case ArgType::kObject:
        object(arg, where);
        break;
      case ArgType::kArray:
        array(arg, where);
        break;
      case ArgType::kInteger:
        integer(arg, where);
        break;
      case ArgType::kTrue:
        if (!boolean(arg, where)) throw ScriptError(where + ": must be true");
        break;
    }
    const bj::object* spec = arg.if_object();
    switch (info.verb) {
      case Verb::kFlood:
        integer(required(*spec, "count", where), where + ".count");
        if (spec->contains("text")) string(spec->at("text"), where + ".text");
        if (spec->contains("update")) object(spec->at("update"), where + ".update");
        break;
      case Verb::kRawRepeat:
        string(required(*spec, "text", where), where + ".text");
        integer(required(*spec, "count", where), where + ".count");
        break;
      case Verb::kRequest:
      case Verb::kNotify:
        string(required(*spec, "method", where), where + ".method");
        break;
      case Verb::kPromptError:
        error_object(arg, where);
        break;
      default:
        break;
    }
  }

  // A JSON-RPC error object: `code` (integer) and `message` (string), optional `data`.
  static bj::object error_object(const bj::value& value, const std::string& where) {
    bj::object error = object(value, where);
    integer(required(error, "code", where), where + ".code");
    string(required(error, "message", where), where + ".message");
    return error;
  }

  static const bj::value& required(const bj::object& o, std::string_view key,
                                   const std::string& where) {
    const bj::value* v = sj::find(o, key);
    if (v == nullptr) throw ScriptError(where + ": missing \"" + std::string(key) + "\"");
    return *v;
  }

  static const bj::object& object(const bj::value& v, const std::string& where) {
    if (!v.is_object()) throw ScriptError(where + ": expected an object");
    return v.get_object();
  }
  static const bj::array& array(const bj::value& v, const std::string& where) {
    if (!v.is_array()) throw ScriptError(where + ": expected an array");
    return v.get_array();
  }
  static std::string string(const bj::value& v, const std::string& where) {
    if (!v.is_string()) throw ScriptError(where + ": expected a string");
    return std::string(v.get_string());
  }
  static bool boolean(const bj::value& v, const std::string& where) {
    if (!v.is_bool()) throw ScriptError(where + ": expected true or false");
    return v.get_bool();
  }
  static std::int64_t integer(const bj::value& v, const std::string& where) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64()) return static_cast<std::int64_t>(v.get_uint64());
    throw ScriptError(where + ": expected an integer");
  }
};

// ---------------------------------------------------------------------------------------------
// I/O

// Newline-delimited reader over a file descriptor; waits are bounded by a deadline.
class LineReader {
 public:
  enum class Status { kLine, kTimeout, kEof };

  explicit LineReader(int fd) : fd_(fd) {}

  // The next line without its "\n" (and "\r"). A last line without "\n" is returned at EOF.
  Status next(std::string& line, Deadline deadline) {
    for (;;) {
      if (take_line(line)) return Status::kLine;
      if (eof_) {
        if (begin_ == buffer_.size()) return Status::kEof;
        line.assign(buffer_, begin_);
        buffer_.clear();
        begin_ = scanned_ = 0;
        return Status::kLine;
      }
      if (!wait_readable(deadline)) return Status::kTimeout;
      fill();
    }
  }

 private:
  bool take_line(std::string& line) {
    const std::size_t newline = buffer_.find('\n', scanned_);
    if (newline == std::string::npos) {
      scanned_ = buffer_.size();
      return false;
    }
    std::size_t end = newline;
    if (end > begin_ && buffer_[end - 1] == '\r') --end;
    line.assign(buffer_, begin_, end - begin_);
    begin_ = scanned_ = newline + 1;
    if (begin_ == buffer_.size()) {
      buffer_.clear();
      begin_ = scanned_ = 0;
    }
    return true;
  }

  bool wait_readable(Deadline deadline) {
    for (;;) {
      int timeout_ms = -1;
      if (deadline) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
        timeout_ms = static_cast<int>(std::max<std::int64_t>(left.count(), 0));
      }
      pollfd pfd{fd_, POLLIN, 0};
      const int n = ::poll(&pfd, 1, timeout_ms);
      if (n > 0) return true;  // readable, hung up or error: read() tells which
      if (n == 0) return false;
      if (errno != EINTR) return true;
    }
  }

  void fill() {
    if (begin_ > 0 && begin_ * 2 > buffer_.size()) {  // drop consumed bytes now and then
      buffer_.erase(0, begin_);
      scanned_ -= begin_;
      begin_ = 0;
    }
    char chunk[64 * 1024];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      eof_ = true;
    }
  }

  int fd_;
  std::string buffer_;
  std::size_t begin_ = 0;    // start of the unread part
  std::size_t scanned_ = 0;  // where the search for "\n" resumes
  bool eof_ = false;
};

// Writes whole buffers to a file descriptor (partial writes and EINTR retried).
void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ::_exit(1);  // the host closed its end; nothing more to say
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Appends every client message as one JSON line, written (and so flushed) at once.
class Recorder {
 public:
  explicit Recorder(const std::string& path) {
    if (path.empty()) return;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw std::runtime_error("cannot open record " + path + ": " + std::strerror(errno));
  }
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  Recorder(Recorder&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~Recorder() {
    if (fd_ >= 0) ::close(fd_);
  }

  void record(const bj::value& message) {
    if (fd_ < 0) return;
    std::string line = bj::serialize(message);
    line.push_back('\n');
    write_all(fd_, line);
  }

 private:
  int fd_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Agent

class Agent {
 public:
  Agent(Script script, Recorder recorder)
      : script_(std::move(script)), recorder_(std::move(recorder)) {}

  [[noreturn]] void run() {
    for (;;) {
      wait_until(std::nullopt, [&] { return !backlog_.empty(); });
      const bj::object request = std::move(backlog_.front());
      backlog_.pop_front();
      dispatch(request);
    }
  }

 private:
  enum class Flow { kContinue, kStop };
  enum class Decision { kAllow, kReject, kCancelled };

  // The session/prompt being played.
  struct Turn {
    bj::value id;
    std::string session_id;
    bool responded = false;
    bool cancelled = false;
  };

  // --- client input ------------------------------------------------------------------------

  // Reads and handles client messages until done() holds (true) or the deadline passes
  // (false). Requests are queued for run(); EOF on stdin ends the process with status 0.
  bool wait_until(Deadline deadline, const std::function<bool()>& done) {
    std::string line;
    while (!done()) {
      switch (in_.next(line, deadline)) {
        case LineReader::Status::kLine:
          receive(line);
          break;
        case LineReader::Status::kTimeout:
          return false;
        case LineReader::Status::kEof:
          ::_exit(0);
      }
    }
    return true;
  }

  // Handles whatever the client has already sent, without blocking.
  void poll_input() {
    wait_until(Clock::now(), [] { return false; });
  }

  void receive(std::string_view line) {
    if (blank(line)) return;
    std::optional<bj::value> message = parse_and_record(line);
    if (!message) {
      send_error(nullptr, -32700, "Parse error");
      return;
    }
    bj::object* object = message->if_object();
    if (object == nullptr) {
      send_error(nullptr, -32600, "Invalid Request");
    } else if (object->contains("method")) {
      if (object->contains("id")) {
        backlog_.push_back(std::move(*object));
      } else {
        on_notification(*object);
      }
    } else if (const auto id = sj::find_int(*object, "id")) {
      responses_[*id] = std::move(*object);
    }
  }

  // Parses one line and records it (an undecodable line as {"_invalid_json": line}).
  std::optional<bj::value> parse_and_record(std::string_view line) {
    boost::system::error_code ec;
    bj::value message = bj::parse(line, ec);
    if (ec) {
      recorder_.record(bj::object{{"_invalid_json", bj::string_view(line)}});
      return std::nullopt;
    }
    recorder_.record(message);
    return message;
  }

  static bool blank(std::string_view line) {
    return line.find_first_not_of(" \t\r") == std::string_view::npos;
  }

  void on_notification(const bj::object& message) {
    if (sj::string_or(message, "method") != "session/cancel") return;
    if (turn_ && !script_.ignore_cancel) turn_->cancelled = true;
  }

  bool cancelled() const { return turn_ && turn_->cancelled; }

  // --- requests ----------------------------------------------------------------------------

  void dispatch(const bj::object& request) {
    const std::string method = sj::string_or(request, "method");
    const bj::value id = request.at("id");
    static const bj::object kNoParams;
    const bj::object* params_ptr = sj::find_object(request, "params");
    const bj::object& params = params_ptr ? *params_ptr : kNoParams;

    if (const auto delay = script_.delay_ms.find(method); delay != script_.delay_ms.end()) {
      wait_until(Clock::now() + std::chrono::milliseconds(delay->second), [] { return false; });
    }
    if (const auto fail = script_.fail_method.find(method); fail != script_.fail_method.end()) {
      send(bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", fail->second}});
      return;
    }
    if (const auto result = script_.results.find(method); result != script_.results.end()) {
      send_result(id, result->second);
      return;
    }
    if (method == "initialize") {
      send_result(id, initialize_result());
    } else if (method == "session/new") {
      send_result(id, bj::object{{"sessionId", script_.session_id}});
    } else if (method == "authenticate" || method == "session/resume" ||
               method == "session/set_config_option" || method == "session/set_mode") {
      send_result(id, bj::object{});
    } else if (method == "session/prompt") {
      play_turn(id, sj::string_or(params, "sessionId", script_.session_id), prompt_text(params));
    } else {
      send_error(id, -32601, "Method not found: " + method);
    }
  }

  static bj::object initialize_result() {
    return {
        {"protocolVersion", 1},
        {"agentCapabilities",
         {{"loadSession", true},
          {"promptCapabilities", {{"image", false}, {"audio", false}, {"embeddedContext", false}}},
          {"mcpCapabilities", {{"http", false}, {"sse", false}}},
          {"sessionCapabilities", {{"resume", bj::object{}}}}}},
        {"authMethods", bj::array{}},
        {"agentInfo", {{"name", "fake-acp-agent"}, {"version", "0.1.0"}}},
    };
  }

  // --- turns -------------------------------------------------------------------------------

  // The text blocks of a session/prompt, joined.
  static std::string prompt_text(const bj::object& params) {
    std::string text;
    if (const auto* blocks = params.if_contains("prompt"); blocks && blocks->is_array())
      for (const auto& b : blocks->get_array())
        if (b.is_object()) text += sj::string_or(b.get_object(), "text");
    return text;
  }

  void play_turn(const bj::value& id, std::string session_id, const std::string& prompt) {
    turn_ = Turn{id, std::move(session_id)};
    if (const Actions* actions = script_.turn(prompts_++, prompt)) run_actions(*actions);
    if (!turn_->responded) {
      respond(bj::object{{"stopReason", turn_->cancelled ? "cancelled" : "end_turn"}});
    }
    turn_.reset();
  }

  // Runs actions in order; stops early on a cancel (checked between actions and in waits).
  Flow run_actions(const Actions& actions) {
    for (const Action& action : actions) {
      poll_input();
      if (cancelled() || run_action(action) == Flow::kStop || cancelled()) return Flow::kStop;
    }
    return Flow::kContinue;
  }

  Flow run_action(const Action& a) {
    switch (a.verb) {
      case Verb::kChunk:
        return chunk(a);
      case Verb::kThought:
        return thought(a);
      case Verb::kToolCall:
        return tool_call(a);
      case Verb::kToolCallUpdate:
        return tool_call_update(a);
      case Verb::kPlan:
        return plan(a);
      case Verb::kUpdate:
        return update(a);
      case Verb::kPermission:
        return permission(a);
      case Verb::kPermissionNowait:
        return permission_nowait(a);
      case Verb::kRequest:
        return request(a);
      case Verb::kNotify:
        return notify(a);
      case Verb::kSleep:
        return sleep_ms(a);
      case Verb::kFlood:
        return flood(a);
      case Verb::kRaw:
        return raw(a);
      case Verb::kRawRepeat:
        return raw_repeat(a);
      case Verb::kStderr:
        return write_stderr(a);
      case Verb::kExit:
        return exit_process(a);
      case Verb::kHang:
        return hang(a);
      case Verb::kEnd:
        return end(a);
      case Verb::kPromptError:
        return prompt_error(a);
      case Verb::kEndMissingStopReason:
        return end_missing_stop_reason(a);
    }
    return Flow::kContinue;
  }

  // Sends the session/prompt response (again, if the script ends twice: a duplicate response).
  void respond(bj::object result) {
    send_result(turn_->id, std::move(result));
    turn_->responded = true;
  }

  // --- actions -----------------------------------------------------------------------------

  Flow chunk(const Action& a) { return text_update("agent_message_chunk", a.arg); }
  Flow thought(const Action& a) { return text_update("agent_thought_chunk", a.arg); }
  Flow tool_call(const Action& a) { return fields_update("tool_call", a.arg.get_object()); }
  Flow tool_call_update(const Action& a) {
    return fields_update("tool_call_update", a.arg.get_object());
  }
  Flow plan(const Action& a) {
    send_update(bj::object{{"sessionUpdate", "plan"}, {"entries", a.arg}});
    return Flow::kContinue;
  }
  Flow update(const Action& a) {
    send_update(a.arg.get_object());
    return Flow::kContinue;
  }

  Flow permission(const Action& a) {
    const bj::object params = permission_params(a.arg.get_object());
    const std::int64_t id = send_request("session/request_permission", params);
    if (!a.wait) return Flow::kContinue;
    const std::optional<bj::object> response = await_response(id);
    if (!response) return Flow::kStop;  // session/cancel while waiting
    switch (decide(*response, params)) {
      case Decision::kAllow:
        return run_actions(a.on_allow);
      case Decision::kReject:
        return run_actions(a.on_reject);
      case Decision::kCancelled:
        if (a.on_cancel) return run_actions(*a.on_cancel);
        if (script_.ignore_cancel) return Flow::kContinue;
        if (!turn_->responded) respond(bj::object{{"stopReason", "cancelled"}});
        return Flow::kStop;
    }
    return Flow::kContinue;
  }

  Flow permission_nowait(const Action& a) {
    send_request("session/request_permission", permission_params(a.arg.get_object()));
    return Flow::kContinue;
  }

  Flow request(const Action& a) {
    const bj::object& spec = a.arg.get_object();
    const bj::object* params = sj::find_object(spec, "params");
    const std::int64_t id =
        send_request(sj::string_or(spec, "method"), params ? *params : bj::object{});
    if (a.wait && !await_response(id)) return Flow::kStop;
    return Flow::kContinue;
  }

  Flow notify(const Action& a) {
    const bj::object& spec = a.arg.get_object();
    bj::object message{{"jsonrpc", "2.0"}, {"method", spec.at("method")}};
    if (const bj::value* params = sj::find(spec, "params")) message["params"] = *params;
    send(message);
    return Flow::kContinue;
  }

  Flow sleep_ms(const Action& a) {
    const auto until = Clock::now() + std::chrono::milliseconds(a.arg.to_number<std::int64_t>());
    wait_until(until, [&] { return cancelled(); });
    return Flow::kContinue;
  }

  // N agent_message_chunk lines (or N copies of `update`), written in large buffers; a cancel
  // is looked for between buffers.
  Flow flood(const Action& a) {
    const bj::object& spec = a.arg.get_object();
    const auto count = *sj::find_int(spec, "count");
    const bool numbered = sj::bool_or(spec, "numbered");
    std::string head = R"({"jsonrpc":"2.0","method":"session/update","params":{"sessionId":)" +
                       quoted(turn_->session_id) + R"(,"update":)";
    std::string tail = "}}\n";
    if (const bj::object* update = sj::find_object(spec, "update")) {
      head += bj::serialize(*update);
    } else {
      std::string text = quoted(sj::string_or(spec, "text", "x"));
      text.pop_back();  // reopen the string so the line number can follow
      head += R"({"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":)" + text;
      tail = "\"}}}}\n";
    }
    std::string buffer;
    buffer.reserve(kWriteChunk + head.size() + tail.size() + 32);
    for (std::int64_t i = 0; i < count; ++i) {
      buffer += head;
      if (numbered) buffer += std::to_string(i);
      buffer += tail;
      if (buffer.size() >= kWriteChunk) {
        write_all(STDOUT_FILENO, buffer);
        buffer.clear();
        poll_input();
        if (cancelled()) return Flow::kStop;
      }
    }
    write_all(STDOUT_FILENO, buffer);
    return Flow::kContinue;
  }

  Flow raw(const Action& a) {
    write_all(STDOUT_FILENO, a.arg.get_string());
    return Flow::kContinue;
  }

  // prefix + text×count + suffix (+ "\n" unless "newline": false), streamed in chunks.
  Flow raw_repeat(const Action& a) {
    const bj::object& spec = a.arg.get_object();
    const std::string text = sj::string_or(spec, "text");
    auto count = *sj::find_int(spec, "count");
    write_all(STDOUT_FILENO, sj::string_or(spec, "prefix"));
    if (!text.empty()) {
      const std::int64_t per_chunk = std::max<std::int64_t>(1, kWriteChunk / text.size());
      std::string block;
      for (std::int64_t i = 0; i < std::min(count, per_chunk); ++i) block += text;
      for (; count > 0; count -= per_chunk) {
        const auto n = static_cast<std::size_t>(std::min(count, per_chunk));
        write_all(STDOUT_FILENO, std::string_view(block).substr(0, n * text.size()));
      }
    }
    write_all(STDOUT_FILENO, sj::string_or(spec, "suffix"));
    if (sj::bool_or(spec, "newline", true)) write_all(STDOUT_FILENO, "\n");
    return Flow::kContinue;
  }

  Flow write_stderr(const Action& a) {
    std::string text(a.arg.get_string());
    if (!text.ends_with('\n')) text.push_back('\n');
    write_all(STDERR_FILENO, text);
    return Flow::kContinue;
  }

  [[noreturn]] Flow exit_process(const Action& a) {
    ::_exit(static_cast<int>(a.arg.to_number<std::int64_t>()));
  }

  // Never answers again: keeps reading (and recording) stdin until EOF, then exits 0 — or
  // sleeps forever with ignore_eof.
  [[noreturn]] Flow hang(const Action& a) {
    std::string line;
    while (in_.next(line, std::nullopt) == LineReader::Status::kLine) {
      if (!blank(line)) parse_and_record(line);
    }
    if (!a.ignore_eof && !script_.ignore_eof) ::_exit(0);
    for (;;) ::pause();
  }

  Flow end(const Action& a) {
    bj::object result = a.arg.get_object();
    if (!result.contains("stopReason") && !result.contains("stop_reason")) {
      result.emplace("stopReason", "end_turn");
    }
    respond(std::move(result));
    return Flow::kContinue;
  }

  Flow prompt_error(const Action& a) {
    send(bj::object{{"jsonrpc", "2.0"}, {"id", turn_->id}, {"error", a.arg}});
    turn_->responded = true;
    return Flow::kContinue;
  }

  Flow end_missing_stop_reason(const Action&) {
    respond(bj::object{});
    return Flow::kContinue;
  }

  // --- permissions -------------------------------------------------------------------------

  // session/request_permission params: the script's fields over defaults shaped like opencode's.
  bj::object permission_params(const bj::object& spec) const {
    bj::object params{
        {"sessionId", turn_->session_id},
        {"toolCall",
         {{"toolCallId", "call_fake_" + std::to_string(next_request_id_)},
          {"title", "fake tool"},
          {"kind", "execute"},
          {"status", "pending"},
          {"rawInput", {{"command", "true"}}}}},
        {"options",
         bj::array{
             bj::object{{"optionId", "once"}, {"kind", "allow_once"}, {"name", "Allow once"}},
             bj::object{{"optionId", "always"}, {"kind", "allow_always"}, {"name", "Always allow"}},
             bj::object{{"optionId", "reject"}, {"kind", "reject_once"}, {"name", "Reject"}},
         }},
    };
    for (const auto& [key, value] : spec) params[key] = value;
    return params;
  }

  // The client's decision: `cancelled`, else the kind of the selected option (allow_* is
  // allow); an error response or an unknown option is a rejection.
  static Decision decide(const bj::object& response, const bj::object& params) {
    const bj::object* result = sj::find_object(response, "result");
    const bj::object* outcome = result ? sj::find_object(*result, "outcome") : nullptr;
    if (outcome == nullptr) return Decision::kReject;
    const std::string kind = sj::string_or(*outcome, "outcome");
    if (kind == "cancelled") return Decision::kCancelled;
    const std::string option_id = sj::string_or(*outcome, "optionId");
    if (kind != "selected" || option_id.empty()) return Decision::kReject;
    if (const bj::array* options = sj::find_array(params, "options")) {
      for (const bj::value& option : *options) {
        const bj::object* o = option.if_object();
        if (o && sj::string_or(*o, "optionId") == option_id) {
          return sj::string_or(*o, "kind").starts_with("allow") ? Decision::kAllow
                                                                : Decision::kReject;
        }
      }
    }
    return Decision::kReject;
  }

  // --- wire --------------------------------------------------------------------------------

  void send(const bj::value& message) {
    std::string line = bj::serialize(message);
    line.push_back('\n');
    write_all(STDOUT_FILENO, line);
  }

  void send_result(const bj::value& id, bj::value result) {
    send(bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
  }

  void send_error(const bj::value& id, std::int64_t code, std::string_view message) {
    send(bj::object{
        {"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
  }

  void send_update(bj::object update) {
    send(bj::object{{"jsonrpc", "2.0"},
                    {"method", "session/update"},
                    {"params", {{"sessionId", turn_->session_id}, {"update", std::move(update)}}}});
  }

  Flow text_update(std::string_view kind, const bj::value& text) {
    send_update({{"sessionUpdate", kind}, {"content", {{"type", "text"}, {"text", text}}}});
    return Flow::kContinue;
  }

  // {sessionUpdate: kind, ...fields}; a `sessionUpdate` among the fields is ignored.
  Flow fields_update(std::string_view kind, const bj::object& fields) {
    bj::object update{{"sessionUpdate", kind}};
    for (const auto& [key, value] : fields) {
      if (key != "sessionUpdate") update[key] = value;
    }
    send_update(std::move(update));
    return Flow::kContinue;
  }

  // Sends an agent->client request; ids start at 0 like opencode's and gemini's.
  std::int64_t send_request(std::string_view method, const bj::object& params) {
    const std::int64_t id = next_request_id_++;
    send(bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
    return id;
  }

  // The client's response to request `id`, or nullopt when the turn was cancelled first.
  std::optional<bj::object> await_response(std::int64_t id) {
    wait_until(std::nullopt, [&] { return responses_.contains(id) || cancelled(); });
    const auto it = responses_.find(id);
    if (it == responses_.end()) return std::nullopt;
    bj::object response = std::move(it->second);
    responses_.erase(it);
    return response;
  }

  Script script_;
  Recorder recorder_;
  LineReader in_{STDIN_FILENO};
  std::deque<bj::object> backlog_;                // client requests not yet answered
  std::map<std::int64_t, bj::object> responses_;  // client responses by request id
  std::optional<Turn> turn_;
  std::int64_t next_request_id_ = 0;
  std::size_t prompts_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << "usage: fake_acp_agent --script SCRIPT.json [--record RECORD.ndjson]\n"
                   "  (or FAKE_ACP_SCRIPT / FAKE_ACP_RECORD; other arguments are ignored)\n"
                   "  script format: tests/fakes/README.md\n";
      return 0;
    }
  }
  const Options options = parse_options(argc, argv);
  try {
    Script script;
    if (options.script_path.empty()) {
      std::cerr << "fake_acp_agent: no script (--script or FAKE_ACP_SCRIPT); every prompt ends "
                   "with end_turn\n";
    } else {
      script = ScriptLoader::load_file(options.script_path);
    }
    if (script.ignore_sigterm) ::signal(SIGTERM, SIG_IGN);
    Agent agent(std::move(script), Recorder(options.record_path));
    agent.run();
  } catch (const std::exception& e) {
    std::cerr << "fake_acp_agent: " << e.what() << "\n";
    return 2;
  }
}
