// Requests and results of the host services (ABI 1.1), with their JSON forms.
// The JSON shapes are the wire contract between plugin and host; they are
// listed in docs/plugin-guide.md so a plugin in another language can use them.
#pragma once

#include <avenor/sdk/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::sdk {

// A service result or why there is none.
template <class T>
struct Outcome {
  std::optional<T> value;
  std::string error;  // when !ok()
  bool cancelled = false;

  bool ok() const { return value.has_value(); }
  T& operator*() { return *value; }
  const T& operator*() const { return *value; }
  T* operator->() { return &*value; }
  const T* operator->() const { return &*value; }
};

struct Done {};  // the result of services that only succeed or fail

using Headers = std::map<std::string, std::string>;  // names lower-case on results

// --- process.run: a short-lived command run to completion ------------------
struct ProcessRequest {
  std::vector<std::string> argv;  // argv[0] looked up on PATH; no shell
  std::map<std::string, std::string> env;
  std::vector<std::string> unset_env;
  std::string cwd;    // empty: the host's
  std::string input;  // written to stdin, then stdin is closed
  std::chrono::milliseconds timeout{10000};

  boost::json::object to_json() const {
    boost::json::object e;
    for (const auto& [k, v] : env) e[k] = v;
    return {{"argv", boost::json::array(argv.begin(), argv.end())},
            {"env", std::move(e)},
            {"unset_env", boost::json::array(unset_env.begin(), unset_env.end())},
            {"cwd", cwd},
            {"stdin", input},
            {"timeout_ms", timeout.count()}};
  }
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;  // killed at the timeout
  std::string out, err;

  bool succeeded() const { return exit_code == 0 && !timed_out; }
  static ProcessResult from_json(const boost::json::object& o) {
    ProcessResult r;
    r.exit_code = static_cast<int>(json::find_int(o, "exit_code").value_or(-1));
    r.signal = static_cast<int>(json::find_int(o, "signal").value_or(0));
    r.timed_out = json::bool_or(o, "timed_out");
    r.out = json::string_or(o, "stdout");
    r.err = json::string_or(o, "stderr");
    return r;
  }
};

// --- http.request: one HTTP/1.1 exchange (http:// only) ---------------------
// Userinfo in the URL becomes Basic auth unless an authorization header is set.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  // Whole exchange; for a stream only until the response head (0: no limit).
  std::chrono::milliseconds timeout{30000};

  boost::json::object to_json(bool stream) const {
    boost::json::object h;
    for (const auto& [k, v] : headers) h[k] = v;
    return {{"method", method},
            {"url", url},
            {"headers", std::move(h)},
            {"body", body},
            {"timeout_ms", timeout.count()},
            {"stream", stream}};
  }
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;  // empty for a stream (its bytes went to on_data)

  std::string header(std::string_view lower_name) const {
    auto it = headers.find(std::string(lower_name));
    return it == headers.end() ? std::string() : it->second;
  }
  static HttpResponse from_json(const boost::json::object& o) {
    HttpResponse r;
    r.status = static_cast<int>(json::find_int(o, "status").value_or(0));
    if (const auto* h = json::find_object(o, "headers"))
      for (const auto& [k, v] : *h)
        if (v.is_string()) r.headers[std::string(k)] = std::string(v.get_string());
    r.body = json::string_or(o, "body");
    return r;
  }
};

// --- http.listen / http.respond: a loopback HTTP server ---------------------
struct ListenOptions {
  std::string host = "127.0.0.1";  // loopback only
  std::uint16_t port = 0;          // 0: any free port
  std::size_t max_body_bytes = std::size_t{1} << 20;
  std::chrono::milliseconds read_timeout{5000};

  boost::json::object to_json() const {
    return {{"host", host},
            {"port", port},
            {"max_body_bytes", max_body_bytes},
            {"read_timeout_ms", read_timeout.count()}};
  }
};

struct InboundRequest {
  std::string request_id;  // answer with Services::respond
  std::string method, target, path, query;
  Headers headers;  // lower-case names
  std::string body;

  static InboundRequest from_json(const boost::json::object& o) {
    InboundRequest r;
    r.request_id = json::string_or(o, "request_id");
    r.method = json::string_or(o, "method");
    r.target = json::string_or(o, "target");
    r.path = json::string_or(o, "path");
    r.query = json::string_or(o, "query");
    if (const auto* h = json::find_object(o, "headers"))
      for (const auto& [k, v] : *h)
        if (v.is_string()) r.headers[std::string(k)] = std::string(v.get_string());
    r.body = json::string_or(o, "body");
    return r;
  }
};

struct HttpReply {
  int status = 200;
  Headers headers{{"content-type", "application/json"}};
  std::string body;

  boost::json::object to_json(std::string_view request_id) const {
    boost::json::object h;
    for (const auto& [k, v] : headers) h[k] = v;
    return {
        {"request_id", request_id}, {"status", status}, {"headers", std::move(h)}, {"body", body}};
  }
};

// --- file.read / file.write / file.remove / file.temp_dir -------------------
struct FileReadRequest {
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t max_bytes = std::uint64_t{1} << 20;
  bool whole_lines = false;  // stop after the last '\n' in range

  boost::json::object to_json() const {
    return {
        {"path", path}, {"offset", offset}, {"max_bytes", max_bytes}, {"whole_lines", whole_lines}};
  }
};

struct FileChunk {
  bool exists = false;
  std::uint64_t size = 0;  // the file's size now
  std::string data;        // invalid UTF-8 replaced by U+FFFD
  std::uint64_t next_offset = 0;

  static FileChunk from_json(const boost::json::object& o) {
    FileChunk c;
    c.exists = json::bool_or(o, "exists");
    c.size = static_cast<std::uint64_t>(json::find_int(o, "size").value_or(0));
    c.data = json::string_or(o, "data");
    c.next_offset = static_cast<std::uint64_t>(json::find_int(o, "next_offset").value_or(0));
    return c;
  }
};

struct FileWriteRequest {
  std::string path;
  std::string data;
  int mode = 0644;
  bool atomic = true;  // temp file in the same folder + rename

  boost::json::object to_json() const {
    return {{"path", path}, {"data", data}, {"mode", mode}, {"atomic", atomic}};
  }
};

}  // namespace avenor::sdk
