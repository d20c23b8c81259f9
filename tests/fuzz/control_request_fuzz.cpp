// Control socket request parsing (host/control): the input is what one client
// sends to a single run's control socket — newline-delimited JSON-RPC — sent
// through a real Unix socket to the real ControlServer with the single-run
// method table over a ControlPlane and a recording run. Every line the server
// writes back must be one JSON-RPC object.
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "control/control_plane.hpp"
#include "control/control_server.hpp"
#include "control/single_run_methods.hpp"
#include "fuzz_text.hpp"
#include "loopback_exchange.hpp"
#include "scratch_dir.hpp"

namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
namespace fs = std::filesystem;
using namespace avenor::host;
using avenor::fuzz::require;

const fs::path& scratch() {
  static const avenor::fuzz::ScratchDir dir("avenor-control-fuzz",
                                            "control.sock");  // one per fuzzing process
  return dir.path();
}

// A run that accepts every command; answer_permission knows request "p1"
// with option "once".
class RecordingRun : public RunCommands {
 public:
  void cancel() override {}
  void prompt(std::string) override {}
  void interrupt_and_prompt(std::string, bool) override {}
  AnswerStatus answer_permission(const std::string& request_id, const std::string& option_id,
                                 const std::optional<std::string>&) override {
    return request_id == "p1" && option_id == "once" ? AnswerStatus::accepted
                                                     : AnswerStatus::no_pending;
  }
  void release_claim(const std::string&) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  asio::io_context io;
  ControlPlane plane(io.get_executor(), "run-1", "fuzz", "token-1");
  RecordingRun run;
  plane.attach(&run);
  std::int64_t seq = 0;
  plane.set_publisher([&](bj::object event) {
    event["seq"] = ++seq;
    event["run_id"] = "run-1";
    plane.publish(event);
    return seq;
  });
  // A little history, so subscribe and history have something to replay.
  plane.publish_event(bj::object{{"event", "session.start"}, {"session_id", "s1"}});
  plane.publish_event(bj::object{{"event", "agent.message_chunk"}, {"runtime_id", "rt_1"}});

  SingleRunMethods methods(plane);
  const fs::path path = scratch() / "control.sock";
  std::string response;
  {
    ControlServer server(io, path, methods);
    server.start();
    asio::local::stream_protocol::socket client(io);
    client.connect(asio::local::stream_protocol::endpoint(path.string()));
    response = avenor::fuzz::exchange(io, client, avenor::fuzz::as_text(data, size),
                                      std::chrono::seconds(2));
    server.stop(std::chrono::milliseconds(0));
    avenor::fuzz::settle(io, std::chrono::milliseconds(100));
  }
  avenor::fuzz::settle(io, std::chrono::milliseconds(100));

  // Only complete lines: the server may close mid-write once the client is gone.
  response.erase(response.rfind('\n') == std::string::npos ? 0 : response.rfind('\n') + 1);
  for (std::string_view line : avenor::fuzz::split_lines(response)) {
    boost::system::error_code ec;
    bj::value v = bj::parse(line, ec);
    require(!ec && v.is_object(), "the control server wrote a line that is not a JSON object");
    const auto* version = v.get_object().if_contains("jsonrpc");
    require(version && version->is_string() && version->get_string() == "2.0",
            "the control server wrote a frame without \"jsonrpc\":\"2.0\"");
  }
  return 0;
}
