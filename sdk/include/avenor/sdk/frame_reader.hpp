// Incremental framer for stdio protocols: bytes arrive in arbitrary chunks,
// complete frames come out. Two framings are accepted on the same stream,
// because agents differ (backends.md §1.2):
//  - newline-delimited: one frame per line ("\n" or "\r\n"); blank lines skipped;
//  - LSP-style header blocks: "Content-Length: N\r\n[Content-Type: ...\r\n]\r\n" then
//    exactly N bytes of body.
// The reader never judges the payload: a malformed header block is passed on
// as a frame of its own raw text, so the decoder reports it like any other
// undecodable frame instead of the stream silently stalling.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace avenor::sdk {

class FrameReader {
 public:
  // The largest Content-Length body accepted. Line frames are capped by the
  // host, but a header announces its size before the bytes exist, so a bogus
  // length must be refused here rather than buffered for.
  static constexpr std::size_t kDefaultMaxBody = std::size_t{4} << 20;

  explicit FrameReader(std::size_t max_body = kDefaultMaxBody) : max_body_(max_body) {}

  // Appends `bytes` and returns every frame they complete, in order. Frames
  // carry no line terminator. Incomplete data stays buffered for the next call.
  std::vector<std::string> feed(std::string_view bytes) {
    std::vector<std::string> frames;
    feed(bytes, [&frames](std::string_view frame) { frames.emplace_back(frame); });
    return frames;
  }

  // The same without copying: `on_frame(std::string_view)` runs for each
  // frame, which is only valid during that call. `on_frame` must not feed
  // this reader again. A frame is consumed before its callback runs, so one
  // that throws is not delivered twice.
  template <class OnFrame>
  void feed(std::string_view bytes, OnFrame&& on_frame) {
    // A line left unfinished by the last read (the usual case in a flood:
    // reads end mid-line) is completed with the bytes up to its newline
    // alone, and the rest is read in place, so the stream is not copied
    // through the buffer read after read.
    if (!buffer_.empty() && !body_size_) {
      const std::size_t nl = bytes.find('\n');
      if (nl != std::string_view::npos && nl + 1 < bytes.size()) {
        std::string_view rest = bytes.substr(nl + 1);
        try {
          feed_some(bytes.substr(0, nl + 1), on_frame);
        } catch (...) {
          buffer_.append(rest);  // what was not read yet stays, as if fed whole
          throw;
        }
        bytes = rest;
      }
    }
    feed_some(bytes, on_frame);
  }

  // Bytes held for an unfinished frame (for diagnostics at close).
  std::size_t buffered() const { return buffer_.size() - pos_; }

 private:
  template <class OnFrame>
  void feed_some(std::string_view bytes, OnFrame& on_frame) {
    // Nothing pending: the frames are read from `bytes` in place and only an
    // unfinished tail is kept.
    const bool in_place = buffer_.empty();
    if (!in_place) buffer_.append(bytes);
    const std::string_view in = in_place ? bytes : std::string_view(buffer_);
    struct Keep {  // keeps what is not consumed, however the loop ends
      FrameReader& r;
      std::string_view in;
      bool in_place;
      ~Keep() {
        if (in_place) {
          r.buffer_.assign(in.substr(r.pos_));
        } else {
          r.buffer_.erase(0, r.pos_);
        }
        r.scanned_ -= std::min(r.scanned_, r.pos_);
        r.pos_ = 0;
      }
    } keep{*this, in, in_place};
    while (next(in, on_frame)) {
    }
  }

  // Consumes at most one step of `in` (from pos_ on); returns false when
  // more bytes are needed.
  template <class OnFrame>
  bool next(std::string_view in, OnFrame& frames) {
    if (body_size_) {
      if (in.size() - pos_ < *body_size_) return false;
      std::string_view body = in.substr(pos_, *body_size_);
      pos_ += *body_size_;
      body_size_.reset();
      if (!is_blank(body)) frames(body);
      return true;
    }
    std::size_t nl = in.find('\n', std::max(pos_, scanned_));
    if (nl == std::string_view::npos) {
      scanned_ = in.size();
      return false;
    }
    std::string_view line = in.substr(pos_, nl - pos_);
    std::string_view raw = in.substr(pos_, nl + 1 - pos_);
    pos_ = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    if (in_headers_) {
      headers_.append(raw);
      if (is_blank(line)) {
        end_headers(frames);
      } else if (!is_header_line(line)) {
        malformed_headers(frames);
      }
      return true;
    }
    if (is_blank(line)) return true;
    if (is_header_line(line)) {
      in_headers_ = true;
      headers_.assign(raw);
      return true;
    }
    frames(line);
    return true;
  }

  // A complete header block: find its Content-Length and switch to body mode.
  template <class OnFrame>
  void end_headers(OnFrame& frames) {
    std::optional<std::size_t> length;
    std::string_view rest = headers_;
    while (!rest.empty()) {
      std::size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (header_name(line) != "content-length") continue;
      std::string_view value = trim(line.substr(line.find(':') + 1));
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec == std::errc{} && end == value.data() + value.size()) length = n;
    }
    if (!length || *length > max_body_) return malformed_headers(frames);
    in_headers_ = false;
    headers_.clear();
    body_size_ = *length;
  }

  template <class OnFrame>
  void malformed_headers(OnFrame& frames) {
    const std::string raw = std::exchange(headers_, {});
    in_headers_ = false;
    frames(std::string_view(raw));
  }

  // LSP defines exactly two headers; recognizing only those keeps a stray
  // "Error: ..." line on stdout from being mistaken for the start of a block.
  static bool is_header_line(std::string_view line) {
    // Every JSON frame starts with '{' or '[': no header name, no lowering.
    if (line.empty() || (line.front() != 'c' && line.front() != 'C')) return false;
    std::string name = header_name(line);
    return name == "content-length" || name == "content-type";
  }

  static std::string header_name(std::string_view line) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return {};
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return name;
  }

  static std::string_view trim(std::string_view s) {
    auto space = [](unsigned char c) { return std::isspace(c) != 0; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
  }

  static bool is_blank(std::string_view s) { return trim(s).empty(); }

  std::size_t max_body_;
  std::string buffer_;
  std::size_t pos_ = 0;      // start of unconsumed input in buffer_
  std::size_t scanned_ = 0;  // buffer_ before this holds no '\n' past pos_: a long line
                             // arriving in many chunks is scanned once, not per chunk
  bool in_headers_ = false;
  std::string headers_;                   // raw text of the header block being read
  std::optional<std::size_t> body_size_;  // set while waiting for a body
};

}  // namespace avenor::sdk
