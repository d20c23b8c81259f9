// GoFlagSet: command-line flags with the exact semantics of Go's `flag`
// package (cli.md §2), so avenor accepts and rejects the same command lines
// as the Go implementation:
//
//   - `-name` and `--name` are equivalent; values as `-name v` or `-name=v`;
//   - bool flags take a value only in the `=` form (`-force=false`); a bare
//     `-force` means true and never consumes the next word;
//   - parsing stops at the first non-flag word (or after `--`, or at a bare
//     `-`); everything from there on is positional, even words like `--x`;
//     an interspersed flag set (set_interspersed, D13) goes on after
//     positionals instead, so `answer <base> --option once` works;
//   - `-h` / `-help` (unless defined) request usage;
//   - error texts are Go's: `flag provided but not defined: -x`,
//     `flag needs an argument: -k`, `invalid value "v" for flag -k: parse error`,
//     `invalid boolean value "v" for -k: parse error`, `bad flag syntax: ---x`.
//
// Usage:
//   GoFlagSet flags("avenor answer");
//   std::string option;
//   bool force = false;
//   flags.string_var(option, "option", "", "option id to answer with");
//   flags.bool_var(force, "force", false, "overwrite an existing response");
//   auto result = flags.parse(args);
//   if (!result.ok()) return usage.parse_failure(flags, result);  // cli/usage_reporter.hpp
//   const auto& positional = flags.args();
//
// Variables are bound by reference (Go's XxxVar) and set to their default
// at definition; they must outlive parse().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::host {

class GoFlagSet {
 public:
  struct ParseResult {
    enum class Status { ok, help, error };
    Status status = Status::ok;
    std::string error;  // set for Status::error (no usage text, no newline)
    bool ok() const { return status == Status::ok; }
  };

  // Converts a flag's text to its value; returns an error reason ("parse
  // error", "value out of range", or any text) or nullopt on success.
  using Setter = std::function<std::optional<std::string>(std::string_view)>;

  // `name` appears in the default usage header "Usage of <name>:".
  explicit GoFlagSet(std::string name);

  // Flag definitions. A usage text containing a `backquoted` word names the
  // value in the usage listing (Go's UnquoteUsage). Defining a name twice, or
  // a name that starts with '-' or contains '=', throws std::logic_error.
  void string_var(std::string& target, std::string name, std::string default_value,
                  std::string usage);
  void bool_var(bool& target, std::string name, bool default_value, std::string usage);
  // Go's int: strconv.ParseInt(s, 0, 64) (0x/0o/0b/leading-0 prefixes,
  // underscores between digits); values outside the target type are
  // "value out of range".
  void int_var(int& target, std::string name, int default_value, std::string usage);
  void int64_var(std::int64_t& target, std::string name, std::int64_t default_value,
                 std::string usage);
  // Go duration syntax (util/duration.hpp).
  void duration_var(std::chrono::nanoseconds& target, std::string name,
                    std::chrono::nanoseconds default_value, std::string usage);
  // A custom flag (Go's flag.Value). `type_name` is shown in usage ("" for a
  // bool-style flag, which then takes no separate value); `default_text` is
  // shown as "(default <text>)" when non-empty.
  void func_var(std::string name, std::string usage, Setter set, bool is_bool = false,
                std::string type_name = "value", std::string default_text = "");

  // Parses `args` (without the program/command name). Stops at the first
  // error; variables set before it keep their new values, as in Go.
  ParseResult parse(const std::vector<std::string>& args);

  // Interspersed mode (D13): flags may also follow positional arguments.
  // Up to the first positional, words are read exactly as Go reads them.
  // After it, a word is a flag only when it names a defined flag (`-name`,
  // `--name`, `--name=value`) or help (`-h`, `-help`, `--help`); any other
  // word, `--not-a-flag` included, stays positional as under Go's rules, so
  // every command line that parsed before means the same. `--` ends the
  // flags and everything after it is positional.
  void set_interspersed(bool on) { interspersed_ = on; }
  // True when `name` is a defined bool flag (it never takes the next word).
  bool is_bool_flag(std::string_view name) const;

  // Positional arguments left after parse().
  const std::vector<std::string>& args() const { return positional_; }
  // True when the flag appeared on the command line (Go's flag.Visit).
  bool was_set(std::string_view name) const { return set_.count(std::string(name)) > 0; }

  // Replaces the "Usage of <name>:\n" header (include the trailing newline).
  void set_usage_header(std::string header) { usage_header_ = std::move(header); }
  // Header plus defaults_text().
  std::string usage() const;
  // Go's PrintDefaults: flags sorted by name, "  -name type\n    \tusage
  // (default v)" (one-letter bool flags on one line).
  std::string defaults_text() const;
  // What Go prints on a parse failure: the error line (not for help), then
  // usage.
  void print_error_and_usage(const ParseResult& result, std::ostream& out) const;

 private:
  struct Flag {
    std::string name;
    std::string usage;
    Setter set;
    bool is_bool = false;
    std::string type_name;
    std::string default_text;    // Value.String() of the default
    bool quote_default = false;  // string flags print the default quoted
    bool default_is_zero = true;
  };

  // What parse_one found at the current word.
  enum class Step { flag, positional, terminator };

  void define(Flag flag);
  // `word` is `-name`, `--name` or `--name=v` for a defined name, or help.
  bool names_a_flag(std::string_view word) const;
  std::optional<ParseResult> parse_one(std::vector<std::string>::const_iterator& it,
                                       std::vector<std::string>::const_iterator end, Step& step);

  std::string name_;
  std::string usage_header_;
  std::map<std::string, Flag, std::less<>> flags_;
  std::set<std::string> set_;
  std::vector<std::string> positional_;
  bool interspersed_ = false;
};

// strconv.ParseInt(text, 0, 64) error reasons as the flag package reports
// them: nullopt plus the value, or "parse error" / "value out of range".
struct GoIntParse {
  std::int64_t value = 0;
  std::optional<std::string> error;
};
GoIntParse parse_go_int(std::string_view text);

// strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view text);

// Why `text` is not a Go duration, in the flag error's reason slot:
// "missing unit in duration (use e.g. 5s, 10m, 1h30m)" for a bare number,
// else "parse error (use e.g. ...)".
std::string duration_error_reason(std::string_view text);

}  // namespace avenor::host
