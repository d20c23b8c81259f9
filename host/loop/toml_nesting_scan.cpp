// A lexical pre-scan of TOML for nesting depth. toml++ limits nested inline
// values itself, but recurses without limit on table headers and dotted keys
// (`[a.a.a....]` 100 000 deep overflows the stack), so the depth has to be
// bounded before it parses. The scan knows only what shapes depth: strings and
// comments (skipped), brackets and braces of values, and the dots of the "run"
// of key text between the delimiters `= , [ ] { } #` and line ends.
//
// Depth counts containers from the root table (1). Each check below compares a
// lower bound on the real depth with the limit, so a document within the limit
// is never refused:
//   header [k1.k2...] with d dots     → the root and d + 1 tables: d + 2
//   bracket opened at b open brackets → root, header tables, brackets: 1 + s + b
//   run with d dots inside b brackets → 1 + s + b + d for a key; a value run (a
//                                       float: d ≤ 1) still sits at 1 + s + b,
//                                       so s + b + d is a bound for both
// where s is the number of keys in the last table header.
//
// The scan also refuses a byte outside ASCII where TOML allows none (anywhere
// but in strings and comments): toml++ 3.3's whitespace test reaches
// __builtin_unreachable for many such characters, e.g. `a = 1¡` (undefined
// behaviour, found by the loop_config fuzzer under UBSan).
#include <string_view>

#include "loop/load_limits.hpp"
#include "loop/structured_formats.hpp"
#include "loop/structured_text.hpp"

namespace avenor::host::detail {
namespace {

constexpr std::string_view kNonAsciiMessage =
    "a character outside ASCII, which TOML allows only in strings and comments";

class NestingScan {
 public:
  explicit NestingScan(std::string_view text) : text_(text) {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;  // a UTF-8 byte order mark, which toml++ skips
  }

  void run() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') {
        end_run();
        line_start_ = true;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;  // neither starts nor ends a run
      } else if (c == '#') {
        skip_to_line_end();
      } else if (c == '[' && line_start_ && brackets_ == 0) {
        header();
      } else {
        line_start_ = false;
        token(c);
      }
    }
  }

 private:
  void token(char c) {
    switch (c) {
      case '[':
      case '{':
        end_run();
        ++brackets_;
        check(1 + header_keys_ + brackets_);
        ++pos_;
        return;
      case ']':
      case '}':
        end_run();
        if (brackets_ > 0) --brackets_;
        ++pos_;
        return;
      case '=':
      case ',':
        end_run();
        ++pos_;
        return;
      case '.':
        ++run_dots_;
        check(header_keys_ + brackets_ + run_dots_);
        ++pos_;
        return;
      case '"':
      case '\'':
        skip_string(c);
        return;
      default:
        refuse_non_ascii(c);
        ++pos_;
    }
  }

  // `[a.b]` or `[[a.b]]`: its keys become the base of the key/value lines under it.
  void header() {
    line_start_ = false;
    pos_ += text_.substr(pos_).starts_with("[[") ? 2 : 1;
    long dots = 0;
    while (pos_ < text_.size() && text_[pos_] != ']' && text_[pos_] != '\n') {
      const char c = text_[pos_];
      if (c == '"' || c == '\'') {
        skip_string(c);
        continue;
      }
      if (c == '.') check(++dots + 2);
      refuse_non_ascii(c);
      ++pos_;
    }
    header_keys_ = dots + 1;
  }

  void end_run() { run_dots_ = 0; }

  void skip_to_line_end() {
    const std::size_t eol = text_.find('\n', pos_);
    pos_ = eol == std::string_view::npos ? text_.size() : eol;
  }

  // Past the closing quote; an unterminated string ends the scan's interest
  // (the parser reports it).
  void skip_string(char quote) {
    const std::string triple(3, quote);
    const bool multiline = text_.substr(pos_).starts_with(triple);
    pos_ += multiline ? 3 : 1;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\\' && quote == '"') {
        pos_ += 2;
      } else if (multiline && text_.substr(pos_).starts_with(triple)) {
        pos_ += 3;
        while (pos_ < text_.size() && text_[pos_] == quote) ++pos_;  // """"" ends with quotes
        return;
      } else if (!multiline && c == quote) {
        ++pos_;
        return;
      } else if (!multiline && c == '\n') {
        return;
      } else {
        ++pos_;
      }
    }
    pos_ = text_.size();
  }

  // Outside strings and comments (where the scan calls this) TOML is ASCII.
  void refuse_non_ascii(char c) const {
    if (static_cast<unsigned char>(c) >= 0x80) fail(kNonAsciiMessage);
  }

  void check(long depth_bound) const {
    if (depth_bound <= kMaxNestingDepth) return;
    fail(nesting_too_deep_message());
  }

  // An error at the scan's position.
  [[noreturn]] void fail(std::string_view message) const {
    const std::string_view before = text_.substr(0, pos_);
    long line = 1;
    std::size_t line_begin = 0;
    for (std::size_t i = 0; i < before.size(); ++i)
      if (before[i] == '\n') {
        ++line;
        line_begin = i + 1;
      }
    throw StructuredTextError(at_position(line, static_cast<long>(pos_ - line_begin) + 1, message));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  bool line_start_ = true;
  long brackets_ = 0;     // open [ and { of values
  long header_keys_ = 0;  // keys of the last table header
  long run_dots_ = 0;     // dots in the current run of key text
};

}  // namespace

void check_toml_nesting(std::string_view text) { NestingScan(text).run(); }

}  // namespace avenor::host::detail
