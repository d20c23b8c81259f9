// Host services for plugins (ABI 1.1), typed: run a command, talk HTTP
// (requests, streams, a loopback listener), read and write files. The host
// does the I/O on its event loop; results come back as callbacks on the same
// thread, never from inside a call into the host.
//
//   services().run_process({.argv = {"tmux", "-V"}}, [this](Outcome<ProcessResult> r) {...});
//   services().http_stream(req, [](std::string_view bytes) {...}, [](Outcome<HttpResponse>) {...});
#pragma once

#include <avenor/sdk/service_calls.hpp>
#include <avenor/sdk/service_types.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace avenor::sdk {

class Services {
 public:
  template <class T>
  using Callback = std::function<void(Outcome<T>)>;

  explicit Services(ServiceCalls& calls) : calls_(calls) {}

  bool available() const { return calls_.available(); }

  CallId run_process(const ProcessRequest& request, Callback<ProcessResult> done) {
    return start("process.run", request.to_json(), {}, parsing<ProcessResult>(std::move(done)));
  }

  CallId http(const HttpRequest& request, Callback<HttpResponse> done) {
    return start("http.request", request.to_json(false), {},
                 parsing<HttpResponse>(std::move(done)));
  }

  // A response body delivered as it arrives. A non-2xx status ends the call
  // with an error "HTTP <status>: <body>"; the end of the body ends it with
  // the response head.
  CallId http_stream(const HttpRequest& request, std::function<void(std::string_view)> on_data,
                     Callback<HttpResponse> done) {
    return start("http.request", request.to_json(true), std::move(on_data),
                 parsing<HttpResponse>(std::move(done)));
  }

  // A loopback HTTP server until cancel(id): `on_listening(port)` once, then
  // `on_request` per request, each answered with respond(). `done` runs when
  // the listener stops (cancelled after cancel()).
  CallId listen_http(const ListenOptions& options, std::function<void(int port)> on_listening,
                     std::function<void(InboundRequest)> on_request, Callback<Done> done) {
    auto on_data = [on_listening = std::move(on_listening),
                    on_request = std::move(on_request)](std::string_view text) {
      auto v = json::parse(text);
      const auto* o = v.if_object();
      if (!o) return;
      std::string type = json::string_or(*o, "type");
      if (type == "listening" && on_listening)
        on_listening(static_cast<int>(json::find_int(*o, "port").value_or(0)));
      else if (type == "request" && on_request)
        on_request(InboundRequest::from_json(*o));
    };
    return start("http.listen", options.to_json(), std::move(on_data),
                 parsing<Done>(std::move(done)));
  }

  CallId respond(std::string_view request_id, const HttpReply& reply, Callback<Done> done = {}) {
    return start("http.respond", reply.to_json(request_id), {}, parsing<Done>(std::move(done)));
  }

  CallId read_file(const FileReadRequest& request, Callback<FileChunk> done) {
    return start("file.read", request.to_json(), {}, parsing<FileChunk>(std::move(done)));
  }

  CallId write_file(const FileWriteRequest& request, Callback<Done> done = {}) {
    return start("file.write", request.to_json(), {}, parsing<Done>(std::move(done)));
  }

  // Removes a file, or a folder with `recursive`; a missing path is not an error.
  CallId remove_path(std::string_view path, bool recursive, Callback<Done> done = {}) {
    return start("file.remove", boost::json::object{{"path", path}, {"recursive", recursive}}, {},
                 parsing<Done>(std::move(done)));
  }

  // A new private (0700) folder under the system temp dir; the path is the result.
  CallId make_temp_dir(std::string_view prefix, Callback<std::string> done) {
    return start("file.temp_dir", boost::json::object{{"prefix", prefix}}, {},
                 [done = std::move(done)](const CallEnd& end) {
                   if (!done) return;
                   Outcome<std::string> out = outcome_error<std::string>(end);
                   if (end.ok()) out.value = json::string_or(parse_result(end), "path");
                   done(std::move(out));
                 });
  }

  void cancel(CallId id) { calls_.cancel(id); }
  bool active(CallId id) const { return calls_.active(id); }

 private:
  CallId start(std::string_view service, const boost::json::object& request,
               ServiceCalls::DataFn on_data, ServiceCalls::EndFn on_end) {
    return calls_.start(service, json::dump(request), std::move(on_data), std::move(on_end));
  }

  static boost::json::object parse_result(const CallEnd& end) {
    auto v = json::parse(end.text);
    return v.is_object() ? std::move(v.as_object()) : boost::json::object{};
  }

  template <class T>
  static Outcome<T> outcome_error(const CallEnd& end) {
    Outcome<T> out;
    if (!end.ok()) {
      out.error = end.text;
      out.cancelled = end.cancelled();
    }
    return out;
  }

  template <class T>
  static ServiceCalls::EndFn parsing(Callback<T> done) {
    return [done = std::move(done)](const CallEnd& end) {
      if (!done) return;
      Outcome<T> out = outcome_error<T>(end);
      if (end.ok()) {
        if constexpr (std::is_same_v<T, Done>)
          out.value = Done{};
        else
          out.value = T::from_json(parse_result(end));
      }
      done(std::move(out));
    };
  }

  ServiceCalls& calls_;
};

}  // namespace avenor::sdk
