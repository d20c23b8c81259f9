// What watch does with one complete log line (events.md §8.2-§8.6): skip
// blank lines, report malformed JSON with its line number, and write the
// plain, classified, accumulated or JSON form to the output. Whatever the log
// holds, plain output carries no terminal control sequence and JSON output
// is valid UTF-8.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

#include "watch/accumulator.hpp"
#include "watch/output_sink.hpp"

namespace avenor::host::watch {

enum class OutputFormat { plain, json };

struct LineOptions {
  OutputFormat format = OutputFormat::plain;
  bool classify = false;
  bool accumulate = false;  // plain only; ignored for json
};

class LineProcessor {
 public:
  LineProcessor(const LineOptions& options, OutputSink& out, std::ostream& err);

  struct Handled {
    bool counted = false;  // a non-empty line (it has a line number)
    // The decoded object, valid until the next handle(); null for empty,
    // blank, malformed and non-object lines.
    const boost::json::object* event = nullptr;
  };

  // `line` is one complete line including its '\n'.
  Handled handle(std::string_view line);

  // A complete line of `bytes` bytes that was too long to hold (LineReader
  // dropped it): numbered and reported like a malformed line, nothing printed.
  Handled handle_oversize(std::size_t bytes);

  // Prints whatever --accumulate still buffers.
  void flush_accumulator();

  std::int64_t line_number() const { return line_number_; }

 private:
  void write_json(std::string_view line, boost::json::object* object);
  void report_malformed(std::string_view reason);

  LineOptions options_;
  OutputSink& out_;
  std::ostream& err_;
  Accumulator accumulator_;
  bool accumulate_;
  std::int64_t line_number_ = 0;
  boost::json::value current_;
};

}  // namespace avenor::host::watch
