// Incremental parser for Server-Sent Events (text/event-stream, WHATWG HTML
// §9.2.6): body bytes arrive in arbitrary chunks, complete events come out.
// Only the fields that carry an event are interpreted — `data` (joined with
// "\n" over several lines), `event` and `id` — plus `retry`; comments (lines
// starting with ':') and unknown fields are skipped. Lines end in LF, CRLF or
// CR, also when the CR and LF arrive in different chunks.
//
// A server is not trusted to bound its lines: a line longer than the cap is
// dropped (counted in dropped_lines()) instead of being buffered, and so is an
// event whose data grows past its own cap.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::sdk {

struct SseEvent {
  std::string type;  // the `event` field; empty means the default "message"
  std::string id;    // the last event id in effect when the event was dispatched
  std::string data;  // `data` lines joined with "\n", without a trailing newline
};

class SseParser {
 public:
  struct Limits {
    std::size_t max_line_bytes = std::size_t{1} << 20;
    std::size_t max_event_bytes = std::size_t{16} << 20;
  };

  SseParser() = default;
  explicit SseParser(Limits limits) : limits_(limits) {}

  // Appends `bytes` and returns every event they complete, in order.
  std::vector<SseEvent> feed(std::string_view bytes) {
    std::vector<SseEvent> out;
    for (std::size_t i = 0; i < bytes.size();) {
      char c = bytes[i];
      if (after_cr_) {
        after_cr_ = false;
        if (c == '\n') {  // the LF of a CRLF split across chunks
          ++i;
          continue;
        }
      }
      if (c == '\n' || c == '\r') {
        after_cr_ = c == '\r';
        end_line(out);
        ++i;
        continue;
      }
      // Copy the run of ordinary bytes up to the next terminator at once.
      std::size_t stop = bytes.find_first_of("\r\n", i);
      std::string_view run =
          bytes.substr(i, stop == std::string_view::npos ? bytes.size() - i : stop - i);
      append_to_line(run);
      i += run.size();
    }
    return out;
  }

  // Forgets a partial line and a partly built event, e.g. before the bytes
  // of a new connection. The last event id and retry value are kept.
  void reset() {
    line_.clear();
    skipping_line_ = false;
    after_cr_ = false;
    at_stream_start_ = true;
    clear_event();
  }

  // Lines (or events) dropped for being over their limit since construction.
  std::size_t dropped_lines() const { return dropped_; }
  const std::string& last_event_id() const { return last_id_; }
  // The reconnection time the server asked for with `retry:`, if any.
  std::optional<std::chrono::milliseconds> retry() const { return retry_; }

 private:
  void append_to_line(std::string_view run) {
    if (skipping_line_) return;
    if (line_.size() + run.size() > limits_.max_line_bytes) {
      line_.clear();
      skipping_line_ = true;
      ++dropped_;
      return;
    }
    line_.append(run);
  }

  void end_line(std::vector<SseEvent>& out) {
    if (skipping_line_) {
      skipping_line_ = false;
      at_stream_start_ = false;
      return;
    }
    std::string_view line = line_;
    if (at_stream_start_) {
      at_stream_start_ = false;
      constexpr std::string_view kBom = "\xEF\xBB\xBF";
      if (line.substr(0, kBom.size()) == kBom) line.remove_prefix(kBom.size());
    }
    if (line.empty()) {
      dispatch(out);
    } else if (line.front() != ':') {
      std::size_t colon = line.find(':');
      std::string_view field = line.substr(0, colon);
      std::string_view value =
          colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      apply_field(field, value);
    }
    line_.clear();
  }

  void apply_field(std::string_view field, std::string_view value) {
    if (field == "data") {
      if (event_too_big_) return;
      if (data_.size() + value.size() + 1 > limits_.max_event_bytes) {
        event_too_big_ = true;
        ++dropped_;
        data_.clear();
        return;
      }
      data_.append(value);
      data_.push_back('\n');
      has_data_ = true;
    } else if (field == "event") {
      type_ = std::string(value);
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
    } else if (field == "retry") {
      if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos &&
          value.size() < 10)
        retry_ = std::chrono::milliseconds(std::stoll(std::string(value)));
    }
  }

  void dispatch(std::vector<SseEvent>& out) {
    if (has_data_ && !event_too_big_) {
      data_.pop_back();  // the newline after the last data line
      out.push_back(SseEvent{std::move(type_), last_id_, std::move(data_)});
    }
    clear_event();
  }

  void clear_event() {
    data_.clear();
    type_.clear();
    has_data_ = false;
    event_too_big_ = false;
  }

  Limits limits_{};
  std::string line_;
  bool skipping_line_ = false;
  bool after_cr_ = false;
  bool at_stream_start_ = true;

  std::string data_, type_, last_id_;
  bool has_data_ = false;
  bool event_too_big_ = false;
  std::optional<std::chrono::milliseconds> retry_;
  std::size_t dropped_ = 0;
};

}  // namespace avenor::sdk
