// The SDK's JSON-RPC peer on arbitrary frames (one per input line): requests,
// responses and notifications in any shape, with requests of its own pending
// (integer or string ids) whose callbacks send more.
#include <avenor/sdk/jsonrpc_peer.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_text.hpp"

namespace {

namespace bj = boost::json;
using avenor::fuzz::require;
using avenor::sdk::JsonRpcOptions;
using avenor::sdk::JsonRpcPeer;
using avenor::sdk::RpcOutcome;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // First byte: bit 0 drops the "jsonrpc" member (codex), bit 1 uses string ids.
  JsonRpcOptions options;
  options.version_field = (data[0] & 1) == 0;
  if (data[0] & 2) options.string_ids = [](std::int64_t n) { return "s-" + std::to_string(n); };

  std::string written;
  JsonRpcPeer peer([&](std::string_view bytes) { written.append(bytes); }, options);
  int callbacks = 0;
  peer.on_request("session/request_permission",
                  [&](const bj::value& id, std::string_view, const bj::value& params) {
                    peer.respond(id, params);
                  });
  peer.on_any_request([&](const bj::value& id, std::string_view method, const bj::value&) {
    peer.respond_error(id, avenor::sdk::rpc_code::method_not_found, method);
  });
  peer.on_any_notification(
      [&](std::string_view, const bj::value& params) { (void)bj::serialize(params); });
  peer.on_warning([](std::string_view) {});
  for (int i = 0; i < 3; ++i) {
    peer.request("initialize", bj::object{{"n", i}}, [&](RpcOutcome r) {
      ++callbacks;
      if (!r.ok()) return (void)r.error->message.size();
      // A callback may send a request of its own (not once the transport is
      // gone: fail_all fails only what is pending when it is called).
      if (callbacks < 8) peer.request("again", nullptr, [&](RpcOutcome) { ++callbacks; });
    });
  }

  for (std::string_view line : avenor::fuzz::split_lines(avenor::fuzz::as_text(data + 1, size - 1)))
    (void)peer.receive(line);
  peer.fail_all("fuzz input ended");
  require(peer.pending() == 0, "requests still pending after fail_all");
  // Everything the peer wrote is one JSON object per line.
  for (std::string_view line : avenor::fuzz::split_lines(written)) {
    boost::system::error_code ec;
    bj::value v = bj::parse(line, ec);
    require(!ec && v.is_object(), "the peer wrote a line that is not a JSON object", line);
  }
  return 0;
}
