// Dispatches a plugin's host service calls (ABI 1.1) by name to the service
// implementations and keeps them alive until they end. One router per plugin
// instance: destroying it cancels what is still running, silently.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "services/service_call.hpp"

namespace avenor::host {

class HttpListenerRegistry;

class ServiceRouter {
 public:
  struct Output {
    std::function<void(std::uint64_t call, std::string data)> data;
    std::function<void(std::uint64_t call, std::int32_t status, std::string text)> end;
    // A process.run whose program is not on PATH (optional): the backend's
    // start failure can then name it.
    std::function<void(std::string program)> missing_executable;
  };

  ServiceRouter(boost::asio::io_context& io, Output output);
  ~ServiceRouter();
  ServiceRouter(const ServiceRouter&) = delete;
  ServiceRouter& operator=(const ServiceRouter&) = delete;

  // Never reports from inside this call: results are posted.
  void start(std::uint64_t call, std::string_view service, std::string_view request_json);
  void cancel(std::uint64_t call);

 private:
  CallSink sink_for(std::uint64_t call);
  // Reports a call that is not kept running (answered at once, or refused).
  void end_later(std::uint64_t call, std::int32_t status, std::string text);

  boost::asio::io_context& io_;
  Output output_;
  std::map<std::uint64_t, std::unique_ptr<ServiceCall>> calls_;
  std::unique_ptr<HttpListenerRegistry> listeners_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace avenor::host
