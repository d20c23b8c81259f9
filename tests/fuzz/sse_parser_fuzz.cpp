// The SDK's Server-Sent Events parser on arbitrary bytes: no crash, and the
// events never depend on how the bytes were chunked (CR and LF may arrive in
// different chunks).
#include <avenor/sdk/sse_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "fuzz_text.hpp"

namespace {

using avenor::fuzz::require;
using avenor::sdk::SseEvent;
using avenor::sdk::SseParser;

using Flat = std::vector<std::tuple<std::string, std::string, std::string>>;

struct Outcome {
  Flat events;
  std::size_t dropped = 0;
  std::string last_id;
  bool operator==(const Outcome&) const = default;
};

Outcome parse_chunked(std::string_view input, std::size_t chunk, SseParser::Limits limits) {
  SseParser parser(limits);
  Outcome out;
  for (std::size_t at = 0; at < input.size(); at += chunk)
    for (SseEvent& e : parser.feed(input.substr(at, chunk)))
      out.events.emplace_back(std::move(e.type), std::move(e.id), std::move(e.data));
  out.dropped = parser.dropped_lines();
  out.last_id = parser.last_event_id();
  (void)parser.retry();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks a chunk size and, with its high bit, tiny limits so
  // the line and event caps are reached on short inputs.
  const std::size_t chunk = 1 + (data[0] & 0x0f);
  SseParser::Limits limits;
  if (data[0] & 0x80) limits = SseParser::Limits{24, 64};
  std::string_view stream = avenor::fuzz::as_text(data + 1, size - 1);

  Outcome whole = parse_chunked(stream, stream.size() + 1, limits);
  Outcome pieces = parse_chunked(stream, chunk, limits);
  require(whole == pieces, "events differ between one feed and chunked feeds");
  return 0;
}
