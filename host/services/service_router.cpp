#include "services/service_router.hpp"

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/json.hpp>
#include <boost/asio/post.hpp>
#include <exception>

#include "plugin_host/missing_executable.hpp"
#include "services/file_services.hpp"
#include "services/http_client_call.hpp"
#include "services/http_listener.hpp"
#include "services/process_service.hpp"

namespace avenor::host {

namespace asio = boost::asio;
namespace json = sdk::json;

ServiceRouter::ServiceRouter(asio::io_context& io, Output output)
    : io_(io), output_(std::move(output)), listeners_(std::make_unique<HttpListenerRegistry>()) {}

ServiceRouter::~ServiceRouter() {
  *alive_ = false;
  calls_.clear();  // each call stops without reporting
}

CallSink ServiceRouter::sink_for(std::uint64_t call) {
  // Reports are posted: the plugin is never re-entered, and a call may end
  // from inside its own start or cancel.
  CallSink sink;
  sink.data = [this, alive = alive_, call](std::string data) {
    asio::post(io_, [this, alive, call, data = std::move(data)]() mutable {
      if (*alive && calls_.count(call)) output_.data(call, std::move(data));
    });
  };
  sink.end = [this, alive = alive_, call](std::int32_t status, std::string text) {
    asio::post(io_, [this, alive, call, status, text = std::move(text)]() mutable {
      if (!*alive) return;
      auto it = calls_.find(call);
      if (it == calls_.end()) return;
      auto finished = std::move(it->second);  // destroyed after the report
      calls_.erase(it);
      output_.end(call, status, std::move(text));
    });
  };
  return sink;
}

void ServiceRouter::end_later(std::uint64_t call, std::int32_t status, std::string text) {
  asio::post(io_, [this, alive = alive_, call, status, text = std::move(text)]() mutable {
    if (*alive) output_.end(call, status, std::move(text));
  });
}

void ServiceRouter::start(std::uint64_t call, std::string_view service,
                          std::string_view request_json) {
  if (calls_.count(call)) {
    end_later(call, AVENOR_FAILURE_ERROR, "call id " + std::to_string(call) + " is already in use");
    return;
  }
  try {
    auto parsed = json::parse(request_json);
    if (!parsed.is_object()) throw std::runtime_error("request is not a JSON object");
    const auto& request = parsed.as_object();
    // The synchronous services have their answer now; only the others are kept.
    if (service == "http.respond") {
      listeners_->respond(request);
      return end_later(call, 0, "{}");
    }
    if (is_file_service(service))
      return end_later(call, 0, json::dump(run_file_service(service, request)));
    std::unique_ptr<ServiceCall> running;
    if (service == "process.run") {
      running = start_process_call(io_, request, sink_for(call));
    } else if (service == "http.request") {
      running = start_http_call(io_, request, sink_for(call));
    } else if (service == "http.listen") {
      running = start_http_listener(io_, request, call, *listeners_, sink_for(call));
    } else {
      throw std::runtime_error("unknown host service \"" + std::string(service) + "\"");
    }
    calls_.emplace(call, std::move(running));
  } catch (const MissingExecutable& e) {
    if (output_.missing_executable) output_.missing_executable(e.executable());
    end_later(call, AVENOR_FAILURE_ERROR, std::string(service) + ": " + e.what());
  } catch (const std::exception& e) {
    end_later(call, AVENOR_FAILURE_ERROR, std::string(service) + ": " + e.what());
  }
}

void ServiceRouter::cancel(std::uint64_t call) {
  if (auto it = calls_.find(call); it != calls_.end()) it->second->cancel();
}

}  // namespace avenor::host
