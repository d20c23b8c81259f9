// `watch --accumulate` (events.md §8.6): merges runs of chunk events with the
// same session and type into one line, so a streamed reply reads as a
// sentence instead of one line per token.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

namespace avenor::host::watch {

class Accumulator {
 public:
  explicit Accumulator(bool classify) : classify_(classify) {}

  // Handles one decoded event and returns the lines (without '\n') to print
  // now: flushed buffers and, for a non-chunk event, its own line.
  std::vector<std::string> process(const boost::json::object& event);

  // Lines of every open buffer, in insertion order; the buffers are emptied.
  std::vector<std::string> flush();

 private:
  struct Buffer {
    std::string key;  // "session|type"
    std::string session;
    std::string type;
    std::string text;
  };

  void flush_into(std::vector<std::string>& lines);

  bool classify_;
  std::vector<Buffer> buffers_;  // insertion order
};

}  // namespace avenor::host::watch
