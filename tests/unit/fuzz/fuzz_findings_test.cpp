// Regression tests for what the fuzz targets (tests/fuzz) found: each case is
// the smallest form of a reproducer, kept here so the fix stays in place even
// when nobody fuzzes.
#include <gtest/gtest.h>

#include <avenor/sdk/jsonrpc_peer.hpp>
#include <limits>
#include <sstream>
#include <string>

#include "control/rpc_error.hpp"
#include "control/rpc_params.hpp"
#include "watch/line_processor.hpp"
#include "watch/output_sink.hpp"

namespace {

namespace bj = boost::json;
using avenor::sdk::JsonRpcPeer;
using avenor::sdk::RpcOutcome;

// jsonrpc_peer_fuzz: a request id of 1e400 parses as infinity; answering it
// wrote `"id":Infinity`, which is not JSON, to the agent.
TEST(FuzzFindings, JsonRpcRequestWithAnInfiniteIdIsRefusedNotAnswered) {
  std::string written;
  JsonRpcPeer peer([&](std::string_view bytes) { written.append(bytes); });
  auto error = peer.receive(R"({"jsonrpc":"2.0","id":1e400,"method":"fs/read_text_file"})");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(*error, "request id is not a finite number");
  EXPECT_EQ(written, "");
}

// jsonrpc_peer_fuzz: a response id beyond int64 (or infinite) was cast to
// int64, which is undefined behaviour; it matches no request.
TEST(FuzzFindings, JsonRpcResponseWithAHugeIdMatchesNoRequest) {
  JsonRpcPeer peer([](std::string_view) {});
  std::string warning;
  peer.on_warning([&](std::string_view text) { warning = text; });
  bool called = false;
  peer.request("initialize", nullptr, [&](RpcOutcome) { called = true; });
  for (const char* id : {"1e300", "-1e300", "1e400", "9223372036854775808.0"}) {
    warning.clear();
    auto error = peer.receive(std::string(R"({"jsonrpc":"2.0","id":)") + id + R"(,"result":{}})");
    EXPECT_FALSE(error.has_value()) << id;
    EXPECT_NE(warning.find("response for no pending request"), std::string::npos) << id;
  }
  EXPECT_FALSE(called);
  EXPECT_EQ(peer.pending(), 1u);
}

// watch_line_fuzz: with --accumulate, text still buffered when the log ended
// was printed raw, terminal escape sequences included.
TEST(FuzzFindings, WatchAccumulateFlushesTerminalSafeText) {
  namespace watch = avenor::host::watch;
  std::ostringstream out, err;
  watch::OutputSink sink(out);
  watch::LineOptions options;
  options.accumulate = true;
  watch::LineProcessor processor(options, sink, err);
  processor.handle(
      R"({"event":"agent.message_chunk","session_id":"s","content":{"type":"text","text":"lo\n\u001b[31mred\u0007"}})"
      "\n");
  processor.flush_accumulator();
  ASSERT_TRUE(sink.flush());
  const std::string text = out.str();
  EXPECT_NE(text.find("red"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
}

// control_request_fuzz seed: `"after_seq":1e300` (subscribe, history) was
// cast to int64, undefined behaviour; it is invalid params like any other
// non-integer.
TEST(FuzzFindings, ControlIntegerParamsOutsideInt64AreInvalid) {
  using avenor::host::RpcError;
  using avenor::host::rpc_params::opt_int;
  for (const char* text :
       {R"({"n":1e300})", R"({"n":-1e300})", R"({"n":9223372036854775808.0})", R"({"n":1.5})"}) {
    const bj::object params = bj::parse(text).as_object();
    EXPECT_THROW(opt_int(params, "n"), RpcError) << text;
  }
  EXPECT_EQ(opt_int(bj::parse(R"({"n":-9223372036854775808.0})").as_object(), "n"),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(opt_int(bj::parse(R"({"n":42.0})").as_object(), "n"), 42);
}

}  // namespace
