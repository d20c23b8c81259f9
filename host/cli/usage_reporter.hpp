// How every command reports a command line it cannot use (cli.md §2, issue
// 13): help that was asked for is the usage on stdout with exit 0; a parse or
// usage error is one error line plus one hint line on stderr with the
// command's usage exit code, never the whole usage (an agent reading stderr
// needs the error, not fifty lines of flags).
//
//   UsageReporter usage("answer", 2, out, err);
//   if (auto parsed = flags.parse(args); !parsed.ok()) return usage.parse_failure(flags, parsed);
//   if (option.empty()) return usage.error("--option is required");
//
// prints
//   avenor answer: --option is required
//   run 'avenor answer --help' for usage
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/go_flags.hpp"

namespace avenor::host {

class UsageReporter {
 public:
  // `command`: the words after `avenor` that name the command ("run",
  // "answer", "control spawn"); `usage_exit`: its exit code for usage errors.
  UsageReporter(std::string command, int usage_exit, std::ostream& out, std::ostream& err);

  // help → flags.usage() on stdout, returns 0; error → error() with the
  // flag package's message.
  int parse_failure(const GoFlagSet& flags, const GoFlagSet::ParseResult& result) const;
  // "<prefix><message>" and the hint line on stderr; returns the usage exit code.
  int error(std::string_view message) const;
  // Usage text on stdout (help asked for some other way); returns 0.
  int help(std::string_view usage_text) const;

  // "avenor: " for run, else "avenor <word>: " per word ("avenor control: spawn: ").
  const std::string& prefix() const { return prefix_; }
  // "run 'avenor <command> --help' for usage"
  std::string hint() const;
  int usage_exit() const { return usage_exit_; }

 private:
  std::string command_;
  std::string prefix_;
  int usage_exit_;
  std::ostream& out_;
  std::ostream& err_;
};

// The error for positional arguments left over by a command that takes none
// (run, D13): names the first one and says how it probably got there, e.g.
//   unexpected argument "stray" (flags start with --; quote a prompt that has spaces)
//   unexpected argument "yes" (--auto-approve takes no value; write --auto-approve=false ...)
// `args` is what was parsed, so the word before the stray one can be found.
std::string unexpected_argument_message(const GoFlagSet& flags,
                                        const std::vector<std::string>& args);

}  // namespace avenor::host
