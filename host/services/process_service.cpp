#include "services/process_service.hpp"

#include <avenor/abi/plugin_abi.h>

#include <avenor/sdk/json.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <stdexcept>
#include <string>

#include "plugin_host/launch_environment.hpp"
#include "plugin_host/missing_executable.hpp"
#include "process/child_process.hpp"
#include "util/executable_search.hpp"
#include "util/utf8.hpp"

namespace avenor::host {
namespace {

namespace json = sdk::json;
constexpr std::size_t kMaxCapturedStdout = std::size_t{4} << 20;

LaunchRequest launch_request_of(const boost::json::object& request) {
  // Same shape as a plugin's launch spec, so one parser checks both.
  boost::json::object spec;
  for (const char* key : {"argv", "env", "unset_env", "cwd"})
    if (const auto* v = json::find(request, key)) spec[key] = *v;
  LaunchRequest r = parse_launch_request(json::dump(spec));
  if (r.argv.empty()) throw std::runtime_error("process.run needs a non-empty argv");
  // Named, so the run can tell the user which program to install.
  const std::string& program = r.argv.front();
  if (program.find('/') == std::string::npos && !find_on_path(program))
    throw MissingExecutable(program);
  return r;
}

class ProcessCall : public ServiceCall {
 public:
  ProcessCall(boost::asio::io_context& io, CallSink sink) : sink_(std::move(sink)), timer_(io) {}

  void start(boost::asio::io_context& io, const boost::json::object& request) {
    ChildHandlers handlers;
    handlers.on_stdout = [this](std::string_view bytes) {
      if (out_.size() < kMaxCapturedStdout)
        out_.append(bytes.substr(0, kMaxCapturedStdout - out_.size()));
    };
    handlers.on_closed = [this](std::string) { finish(); };
    child_ =
        ChildProcess::spawn(io, make_child_spec(launch_request_of(request)), std::move(handlers));
    child_->write(json::string_or(request, "stdin"));
    child_->finish_input();
    auto timeout_ms = json::find_int(request, "timeout_ms").value_or(10000);
    if (timeout_ms > 0) {
      timer_.expires_after(std::chrono::milliseconds(timeout_ms));
      timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || ended_) return;
        timed_out_ = true;
        child_->kill_now("timed out");
      });
    }
  }

  void cancel() override {
    if (ended_) return;
    cancelled_ = true;
    child_->kill_now("cancelled");
  }

 private:
  void finish() {
    if (ended_) return;
    ended_ = true;
    timer_.cancel();
    if (cancelled_) {
      sink_.end(AVENOR_FAILURE_CANCELLED, "cancelled");
      return;
    }
    auto code = child_->exit_code();
    boost::json::object result{{"exit_code", code ? *code : -1},
                               {"signal", child_->exit_signal()},
                               {"timed_out", timed_out_},
                               {"stdout", to_valid_utf8(out_)},
                               {"stderr", to_valid_utf8(child_->stderr_tail())}};
    sink_.end(0, json::dump(result));
  }

  CallSink sink_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<ChildProcess> child_;
  std::string out_;
  bool ended_ = false, cancelled_ = false, timed_out_ = false;
};

}  // namespace

std::unique_ptr<ServiceCall> start_process_call(boost::asio::io_context& io,
                                                const boost::json::object& request, CallSink sink) {
  auto call = std::make_unique<ProcessCall>(io, std::move(sink));
  call->start(io, request);
  return call;
}

}  // namespace avenor::host
