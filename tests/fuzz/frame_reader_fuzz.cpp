// The SDK frame reader (NDJSON and Content-Length framing) on arbitrary bytes:
// no crash, and the frames never depend on how the bytes were chunked.
#include <avenor/sdk/frame_reader.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_text.hpp"

namespace {

using avenor::fuzz::require;
using avenor::sdk::FrameReader;

// A small body cap as well, so the refusal path runs on short inputs.
std::vector<std::string> read_chunked(std::string_view input, std::size_t chunk,
                                      std::size_t max_body) {
  FrameReader reader(max_body);
  std::vector<std::string> frames;
  for (std::size_t at = 0; at < input.size(); at += chunk)
    for (std::string& f : reader.feed(input.substr(at, chunk))) frames.push_back(std::move(f));
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks a chunk size and a body cap; the rest is the stream.
  const std::size_t chunk = 1 + (data[0] & 0x0f);
  const std::size_t max_body = (data[0] & 0x10) ? 16 : FrameReader::kDefaultMaxBody;
  std::string_view stream = avenor::fuzz::as_text(data + 1, size - 1);

  std::vector<std::string> whole = read_chunked(stream, stream.size() + 1, max_body);
  std::vector<std::string> pieces = read_chunked(stream, chunk, max_body);
  require(whole == pieces, "frames differ between one feed and chunked feeds");
  for (const std::string& frame : whole) require(!frame.empty(), "an empty frame came out");
  return 0;
}
