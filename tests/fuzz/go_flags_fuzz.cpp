// Go-style flag parsing (host/cli/go_flags) on arbitrary command lines: one
// word per input line, against a flag set with every kind of flag, in Go's
// mode and (first byte odd) the interspersed mode. Also the Go number, bool
// and duration parsers, with Duration.String round-tripping through
// ParseDuration.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "cli/go_flags.hpp"
#include "fuzz_text.hpp"
#include "util/duration.hpp"

namespace {

using avenor::fuzz::require;
using avenor::host::GoFlagSet;

void check_scalars(std::string_view word) {
  (void)avenor::host::parse_go_int(word);
  (void)avenor::host::parse_go_bool(word);
  if (auto d = avenor::host::parse_go_duration(word)) {
    std::string text = avenor::host::format_go_duration(*d);
    auto again = avenor::host::parse_go_duration(text);
    require(again && *again == *d, "format_go_duration does not parse back to the same duration");
  } else {
    (void)avenor::host::duration_error_reason(word);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::vector<std::string> args;
  for (std::string_view line : avenor::fuzz::split_lines(avenor::fuzz::as_text(data + 1, size - 1)))
    args.emplace_back(line);
  if (args.size() > 64) args.resize(64);

  GoFlagSet flags("fuzz");
  flags.set_interspersed((data[0] & 1) != 0);
  std::string option, message;
  bool force = false;
  int count = 0;
  std::int64_t big = 0;
  std::chrono::nanoseconds timeout{};
  std::vector<std::string> policies;
  flags.string_var(option, "option", "", "`id` of the option");
  flags.string_var(message, "m", "hi", "a message");
  flags.bool_var(force, "force", false, "overwrite");
  flags.int_var(count, "n", 3, "a count");
  flags.int64_var(big, "big", -1, "a big number");
  flags.duration_var(timeout, "timeout", std::chrono::seconds(5), "how long");
  flags.func_var(
      "policy", "a custom value",
      [&](std::string_view v) -> std::optional<std::string> {
        if (v == "bad") return std::string("no such policy");
        policies.emplace_back(v);
        return std::nullopt;
      },
      false, "name", "none");
  flags.func_var(
      "v", "a bool-style custom flag", [](std::string_view) { return std::nullopt; }, true, "");

  GoFlagSet::ParseResult result = flags.parse(args);
  std::ostringstream out;
  if (!result.ok()) flags.print_error_and_usage(result, out);
  if (result.status == GoFlagSet::ParseResult::Status::error)
    require(!result.error.empty() && result.error.find('\n') == std::string::npos,
            "a flag error is not one line");
  for (const std::string& word : flags.args()) (void)flags.is_bool_flag(word);
  (void)flags.was_set("option");
  (void)flags.usage();

  for (const std::string& word : args) check_scalars(word);
  return 0;
}
