// HTTP debug request parsing (host/http_debug): the input is what one client
// sends to `--http-debug` — raw HTTP/1.1, "$TOKEN" standing for the server's
// access token — sent through a real loopback TCP connection to the real
// server over a single run's ControlPlane. The request-target parser, the
// route matcher and the /answer-permission body parser also get the input
// directly (the first line as a target, the text after the first blank line
// as a body), past what Beast lets through.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "control/control_plane.hpp"
#include "fuzz_text.hpp"
#include "http_debug/debug_routes.hpp"
#include "http_debug/http_debug_server.hpp"
#include "http_debug/permission_answer.hpp"
#include "http_debug/request_target.hpp"
#include "http_debug/run_debug_target.hpp"
#include "loopback_exchange.hpp"

namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace avenor::host;
using avenor::fuzz::require;

class RecordingRun : public RunCommands {
 public:
  void cancel() override {}
  void prompt(std::string) override {}
  void interrupt_and_prompt(std::string, bool) override {}
  AnswerStatus answer_permission(const std::string& request_id, const std::string&,
                                 const std::optional<std::string>&) override {
    return request_id == "p1" ? AnswerStatus::accepted : AnswerStatus::no_pending;
  }
  void release_claim(const std::string&) override {}
};

std::string with_token(std::string_view input, const std::string& token) {
  std::string out;
  for (std::size_t i = 0; i < input.size();) {
    if (input.substr(i, 6) == "$TOKEN") {
      out += token;
      i += 6;
    } else {
      out.push_back(input[i++]);
    }
  }
  return out;
}

void parse_directly(std::string_view input) {
  std::string_view first = input.substr(0, input.find('\n'));
  if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
  // "GET /status HTTP/1.1": the middle word, else the whole line.
  std::string_view target = first;
  if (std::size_t sp = first.find(' '); sp != std::string_view::npos) {
    target = first.substr(sp + 1);
    target = target.substr(0, target.find(' '));
  }
  if (auto parsed = parse_request_target(target)) {
    DebugRouteMatch match = match_debug_route(parsed->path);
    (void)debug_route_method(match.route);
    (void)parsed->query_value("runtime_id");
  }
  std::size_t blank = input.find("\r\n\r\n");
  std::string_view body = blank == std::string_view::npos ? input : input.substr(blank + 4);
  auto answer = parse_permission_answer(body);
  if (auto* ok = std::get_if<PermissionAnswer>(&answer))
    require(!ok->request_id.empty() && !ok->option_id.empty(),
            "an accepted permission answer lacks an id");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = avenor::fuzz::as_text(data, size);
  parse_directly(input);

  asio::io_context io;
  ControlPlane plane(io.get_executor(), "run-1", "fuzz", "token-1");
  RecordingRun run;
  plane.attach(&run);
  RunDebugTarget target(plane);
  {
    HttpDebugServer server(io, target);
    server.start("127.0.0.1:0");
    asio::ip::tcp::socket client(io);
    client.connect(server.local_endpoint());
    // An event for a /events stream that is open by now, if any.
    asio::post(io, [&plane] {
      plane.publish(bj::object{{"event", "agent.message_chunk"}, {"seq", 1}, {"run_id", "run-1"}});
    });
    (void)avenor::fuzz::exchange(io, client, with_token(input, server.token()),
                                 std::chrono::seconds(2));
    server.stop();
    avenor::fuzz::settle(io, std::chrono::milliseconds(100));
  }
  avenor::fuzz::settle(io, std::chrono::milliseconds(100));
  return 0;
}
