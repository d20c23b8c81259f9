// The `avenor control tail` hand-off between the socket reader and the stdout
// writer (cli.md §6): 256 slots; when the writer falls behind (stdout is a
// pipe nobody reads), the reader never waits: the oldest line is dropped and
// counted, and the writer reports the count before its next line, coalesced,
// as the server does for its own subscribers (control.md §8).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

namespace avenor::host::control_client {

class TailQueue {
 public:
  static constexpr std::size_t kDefaultCapacity = 256;

  explicit TailQueue(std::size_t capacity = kDefaultCapacity);

  // Reader side; never blocks.
  void push(std::string line);
  // No more lines will come; `error` is the reason when the stream failed.
  void close(std::optional<std::string> error = std::nullopt);

  struct Item {
    std::uint64_t dropped_before = 0;  // lines dropped since the previous item
    std::string line;
    bool more_ready = false;  // another line is already waiting (the writer may delay a flush)
  };
  // Writer side: blocks until a line is ready; nullopt once closed and drained.
  std::optional<Item> pop();
  // The close reason; meaningful after pop() returned nullopt.
  std::optional<std::string> error() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::string> lines_;
  std::uint64_t dropped_ = 0;
  bool closed_ = false;
  std::optional<std::string> error_;
};

}  // namespace avenor::host::control_client
